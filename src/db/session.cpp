#include "session.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace pagohub::db::detail {
namespace {

void append_keyword(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += ' ';
  out += key;
  out += "='";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
}

struct conninfo_options_deleter {
  void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

}  // namespace

namespace {

// The configured conninfo in keyword form with pagohubd's connect_timeout and application_name
// (unless set); its startup `options`, if any, apart, for the caller to add to.
struct rebuilt {
  std::string conninfo;
  std::string startup_options;
};

rebuilt rebuild(const std::string& conninfo, std::chrono::milliseconds connect_timeout) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, conninfo_options_deleter> parsed(
      PQconninfoParse(conninfo.c_str(), &error));
  if (!parsed) {
    // libpq's reason quotes the text it stopped at, which may be the password: not repeated.
    const bool no_memory = error == nullptr;
    PQfreemem(error);
    throw std::invalid_argument(no_memory ? "bad database conninfo: out of memory"
                                          : "bad database conninfo: libpq cannot parse it (check "
                                            "quoting, key=value pairs and percent-encoding)");
  }

  rebuilt r;
  bool has_application_name = false;
  for (const PQconninfoOption* option = parsed.get(); option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    const std::string_view key = option->keyword;
    // The pool's own setting is the one operators configure for pagohubd; a timeout left in
    // the conninfo would silently override it otherwise.
    if (key == "connect_timeout") continue;
    if (key == "options") {
      r.startup_options = option->val;
      continue;
    }
    if (key == "application_name") has_application_name = true;
    append_keyword(r.conninfo, key, option->val);
  }

  // libpq takes whole seconds; round up so a sub-second setting does not become "no timeout".
  const auto timeout_ms = std::max<std::int64_t>(connect_timeout.count(), 1);
  append_keyword(r.conninfo, "connect_timeout", std::to_string((timeout_ms + 999) / 1000));
  // Operators may name each node; otherwise pg_stat_activity shows which sessions are ours.
  if (!has_application_name) append_keyword(r.conninfo, "application_name", "pagohubd");
  return r;
}

}  // namespace

std::string session_conninfo(const pool_settings& settings) {
  auto r = rebuild(settings.conninfo, settings.connect_timeout);
  if (!r.startup_options.empty()) r.startup_options += ' ';
  r.startup_options += "-c statement_timeout=" + std::to_string(std::max<std::int64_t>(
                                                     settings.statement_timeout.count(), 0));
  append_keyword(r.conninfo, "options", r.startup_options);
  return r.conninfo;
}

}  // namespace pagohub::db::detail

namespace pagohub::db {

std::string standalone_conninfo(const std::string& conninfo,
                                std::chrono::milliseconds connect_timeout) {
  auto r = detail::rebuild(conninfo, connect_timeout);
  if (!r.startup_options.empty()) detail::append_keyword(r.conninfo, "options", r.startup_options);
  return r.conninfo;
}

}  // namespace pagohub::db

namespace pagohub::db::detail {

bool is_connection_loss(std::string_view sqlstate) noexcept {
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

std::string_view set_transaction_sql(isolation level, access mode) noexcept {
  const bool read_only = mode == access::read_only;
  switch (level) {
    case isolation::read_committed:
      return read_only ? "SET TRANSACTION READ ONLY" : "";
    case isolation::repeatable_read:
      return read_only ? "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                       : "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ";
    case isolation::serializable:
      return read_only ? "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY"
                       : "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE";
  }
  return "";
}

// libpqxx prints server notices (RAISE NOTICE, "there is no transaction in progress") on
// stderr by default; a daemon wants them in its log with everything else.
class session::notice_logger final : public pqxx::errorhandler {
 public:
  explicit notice_logger(pqxx::connection_base& connection) : pqxx::errorhandler(connection) {}

  bool operator()(const char message[]) noexcept override {
    std::string_view text = message;
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    try {
      if (text.starts_with("FATAL:")) {
        text.remove_prefix(6);
        while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
        last_fatal = text;
      } else {
        spdlog::debug("database notice: {}", text);
      }
    } catch (...) {  // a notice is never worth an exception out of libpqxx
    }
    return false;  // handled: the default stderr handler need not run
  }

  std::string last_fatal;
};

session::session(const std::string& conninfo)
    : connection_(std::make_unique<pqxx::connection>(conninfo)),
      notices_(std::make_unique<notice_logger>(*connection_)) {}

session::~session() = default;

std::string session::last_fatal_notice() const {
  return notices_->last_fatal;
}

}  // namespace pagohub::db::detail
