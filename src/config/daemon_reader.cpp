// [daemon], [[listener]], [db], [limits], [logging], [paths]: docs/config-reference.md.
#include <arpa/inet.h>
#include <libpq-fe.h>

#include <pagohub/core/fiscal_code.hpp>

#include <algorithm>
#include <array>
#include <set>

#include <spdlog/spdlog.h>

#include "readers.hpp"

namespace pagohub::config::detail {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

bool is_ip_literal(const std::string& text) {
  std::array<unsigned char, 16> buffer{};
  return inet_pton(AF_INET, text.c_str(), buffer.data()) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer.data()) == 1;
}

bool is_wildcard(const std::string& address) {
  return address == "0.0.0.0" || address == "::";
}

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

void read_daemon_table(const table_reader& root, daemon_settings& out) {
  const toml::table* t = root.table("daemon");
  if (t == nullptr) return;
  const table_reader r(*t, "daemon", root.file(), {"io_threads", "station_id", "broker_id"});
  out.io_threads = static_cast<int>(r.integer("io_threads", 0, 1024).value_or(0));
  if (auto broker = r.string("broker_id")) {
    if (auto parsed = core::entity_fiscal_code::parse(*broker); !parsed) {
      r.fail("broker_id", "is not a valid fiscal code: " + parsed.error().message);
    }
    out.broker_id = *broker;
  }
  if (auto station = r.string("station_id")) {
    if (auto problem = station_id_problem(*station, out.broker_id); !problem.empty()) {
      r.fail("station_id", problem);
    }
    out.station_id = *station;
  }
}

tls_settings read_tls(const table_reader& r) {
  const bool has_cert = r.has("tls_cert_file");
  const bool has_key = r.has("tls_key_file");
  if (has_key && !has_cert) r.fail("tls_key_file", "is set but tls_cert_file is not");
  if (has_cert && !has_key) r.fail("tls_cert_file", "is set but tls_key_file is not");
  tls_settings tls;
  tls.cert_file = r.existing_file("tls_cert_file")->string();
  tls.key_file = r.existing_file("tls_key_file")->string();
  if (auto ca = r.existing_file("tls_client_ca_file")) tls.client_ca_file = ca->string();
  if (auto subjects = r.string_array("tls_allowed_subjects")) {
    if (tls.client_ca_file.empty()) {
      r.fail("tls_allowed_subjects",
             "needs tls_client_ca_file: without client certificates there is no subject");
    }
    tls.allowed_client_subjects = *std::move(subjects);
  }
  return tls;
}

void read_listeners(const table_reader& root, daemon_settings& out) {
  if (root.has("listener") && root.node("listener")->is_table()) {
    root.fail("listener", "must be an array of tables: write [[listener]], not [listener]");
  }
  const auto tables = root.table_array("listener");
  if (tables.empty()) root.fail("listener", "at least one [[listener]] is required");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const table_reader r(*tables[i], "listener[" + std::to_string(i) + "]", root.file(),
                         {"name", "address", "port", "tls_cert_file", "tls_key_file",
                          "tls_client_ca_file", "tls_allowed_subjects"});
    listener_settings l;
    l.name = r.required_string("name");
    if (!valid_name(l.name)) {
      r.fail("name", "must be 1..64 characters from letters, digits, '_' and '-'");
    }
    if (auto address = r.string("address")) {
      if (!is_ip_literal(*address)) {
        r.fail("address", "must be an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::1");
      }
      l.address = *address;
    }
    l.port = static_cast<std::uint16_t>(r.integer("port", 0, 65535).value_or(8080));
    const bool wants_tls = r.has("tls_cert_file") || r.has("tls_key_file");
    if (!wants_tls && r.has("tls_client_ca_file")) {
      r.fail("tls_client_ca_file",
             "client certificates need TLS: set tls_cert_file and "
             "tls_key_file");
    }
    if (!wants_tls && r.has("tls_allowed_subjects")) {
      r.fail("tls_allowed_subjects", "needs TLS with client certificates (tls_client_ca_file)");
    }
    if (wants_tls) l.tls = read_tls(r);
    for (std::size_t j = 0; j < out.listeners.size(); ++j) {
      const auto& other = out.listeners[j];
      if (other.name == l.name) {
        r.fail("name",
               "duplicate listener name, already used by listener[" + std::to_string(j) + "]");
      }
      // Port 0 asks the kernel for a free port, so it never clashes.
      const bool same_address =
          other.address == l.address || is_wildcard(other.address) || is_wildcard(l.address);
      if (l.port != 0 && other.port == l.port && same_address) {
        r.fail("port", "port " + std::to_string(l.port) + " is already used by listener[" +
                           std::to_string(j) + "] on an overlapping address");
      }
    }
    out.listeners.push_back(std::move(l));
  }
}

// libpq key=value syntax: values with spaces, quotes or backslashes (or empty) are quoted.
std::string conninfo_value(const std::string& value) {
  const bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
    return c == ' ' || c == '\'' || c == '\\' || c == '\t' || c == '\n' || c == '\r';
  });
  if (plain) return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

bool conninfo_parses(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
  PQfreemem(error);
  if (parsed == nullptr) return false;
  PQconninfoFree(parsed);
  return true;
}

void read_db(const table_reader& root, daemon_settings& out) {
  const toml::table* t = root.table("db");
  if (t == nullptr) {
    root.fail("db", "a [db] table is required (conninfo, or host, dbname, user, ...)");
  }
  const table_reader r(*t, "db", root.file(),
                       {"conninfo", "conninfo_file", "conninfo_env", "host", "port", "dbname",
                        "user", "password", "password_file", "password_env", "pool_size",
                        "statement_timeout_ms", "connect_timeout_ms", "migrate_on_start"});
  auto& db = out.db;
  constexpr std::array<std::string_view, 7> part_keys = {
      "host", "port", "dbname", "user", "password", "password_file", "password_env"};
  const auto whole = r.secret("conninfo");
  if (whole) {
    for (auto k : part_keys) {
      if (r.has(k)) {
        r.fail(k, "conninfo is given whole, so the separate connection keys must not be set");
      }
    }
    // Checked here, where the error can name its key, rather than at the first connection:
    // `check-config` then catches it too. libpq's reason is not repeated, since it quotes the
    // text it stopped at, which may be the password.
    if (!conninfo_parses(*whole)) {
      r.fail("conninfo",
             "libpq cannot parse it (check quoting, key=value pairs, and the URI's "
             "percent-encoding)");
    }
    db.conninfo = *whole;
  } else {
    std::string conninfo;
    const auto add = [&](std::string_view name, const std::string& value) {
      if (!conninfo.empty()) conninfo += ' ';
      conninfo += std::string(name) + "=" + conninfo_value(value);
    };
    if (auto host = r.string("host")) add("host", *host);
    if (auto port = r.integer("port", 1, 65535)) add("port", std::to_string(*port));
    if (auto dbname = r.string("dbname")) add("dbname", *dbname);
    if (auto user = r.string("user")) add("user", *user);
    if (auto password = r.secret("password")) add("password", *password);
    if (conninfo.empty()) {
      r.fail("conninfo",
             "no connection given: set conninfo (or conninfo_file, conninfo_env) or "
             "host, port, dbname, user and a password");
    }
    db.conninfo = std::move(conninfo);
  }
  db.pool_size = static_cast<int>(r.integer("pool_size", 1, 256).value_or(db.pool_size));
  db.statement_timeout =
      ms{r.integer("statement_timeout_ms", 0, 86'400'000).value_or(db.statement_timeout.count())};
  db.connect_timeout =
      ms{r.integer("connect_timeout_ms", 1, 600'000).value_or(db.connect_timeout.count())};
  db.migrate_on_start = r.boolean("migrate_on_start").value_or(db.migrate_on_start);
}

void read_limits(const table_reader& root, daemon_settings& out) {
  const toml::table* t = root.table("limits");
  if (t == nullptr) return;
  const table_reader r(
      *t, "limits", root.file(),
      {"max_body_bytes", "max_header_bytes", "request_deadline_ms", "shutdown_grace_ms",
       "max_connections", "max_connections_per_address", "idle_timeout_ms"});
  auto& l = out.limits;
  const auto size = [](std::int64_t v) { return static_cast<std::size_t>(v); };
  l.max_body_bytes = size(r.integer("max_body_bytes", 1024, std::int64_t{1} << 30)
                              .value_or(static_cast<std::int64_t>(l.max_body_bytes)));
  l.max_header_bytes = size(r.integer("max_header_bytes", 1024, std::int64_t{1} << 20)
                                .value_or(static_cast<std::int64_t>(l.max_header_bytes)));
  l.request_deadline =
      ms{r.integer("request_deadline_ms", 100, 3'600'000).value_or(l.request_deadline.count())};
  l.shutdown_grace =
      ms{r.integer("shutdown_grace_ms", 0, 3'600'000).value_or(l.shutdown_grace.count())};
  l.max_connections = size(r.integer("max_connections", 1, 1'000'000)
                               .value_or(static_cast<std::int64_t>(l.max_connections)));
  l.max_connections_per_address =
      size(r.integer("max_connections_per_address", 0, 1'000'000)
               .value_or(static_cast<std::int64_t>(l.max_connections_per_address)));
  l.idle_timeout =
      ms{r.integer("idle_timeout_ms", 1000, 3'600'000).value_or(l.idle_timeout.count())};
}

void read_logging(const table_reader& root, daemon_settings& out) {
  const toml::table* t = root.table("logging");
  if (t == nullptr) return;
  const table_reader r(*t, "logging", root.file(), {"level", "format", "access_log"});
  auto& l = out.logging;
  if (auto level = r.string("level")) {
    static const std::set<std::string, std::less<>> levels = {"trace", "debug",    "info", "warn",
                                                              "error", "critical", "off"};
    if (!levels.contains(*level)) {
      r.fail("level", "must be one of trace, debug, info, warn, error, critical, off");
    }
    l.level = *level;
  }
  if (auto format = r.string("format")) {
    if (*format != "text" && *format != "json") r.fail("format", "must be text or json");
    l.format = *format;
  }
  l.access_log = r.boolean("access_log").value_or(l.access_log);
}

void read_paths(const table_reader& root, daemon_settings& out) {
  const toml::table* t = root.table("paths");
  static const toml::table empty;
  const table_reader r(t != nullptr ? *t : empty, "paths", root.file(),
                       {"web_root", "sql_dir", "entities_dir", "applications_dir"});
  auto& p = out.paths;
  // Defaults are relative too, and resolve against the configuration file's directory.
  const auto resolve = [&](std::string_view key, const std::string& fallback) {
    if (auto given = r.path(key)) return *given;
    return (root.file().base_dir / fallback).lexically_normal();
  };
  std::error_code ec;
  const auto sql_dir = resolve("sql_dir", p.sql_dir);
  if (!std::filesystem::is_directory(sql_dir, ec)) {
    r.fail("sql_dir", "directory " + sql_dir.string() + " does not exist");
  }
  p.sql_dir = sql_dir.string();
  const auto web_root = resolve("web_root", p.web_root);
  // Reserved for the web pages, which this version does not serve: only a directory named on
  // purpose is worth a word when it is missing, not the default that nothing reads.
  if (r.has("web_root") && !std::filesystem::is_directory(web_root, ec)) {
    spdlog::warn("{}: {}: directory {} does not exist", root.file().path.string(),
                 r.key_path("web_root"), web_root.string());
  }
  p.web_root = web_root.string();
  if (auto dir = r.path("entities_dir")) {
    if (!std::filesystem::is_directory(*dir, ec)) {
      r.fail("entities_dir", "directory " + dir->string() + " does not exist");
    }
    p.entities_dir = dir->string();
  }
  if (auto dir = r.path("applications_dir")) {
    if (!std::filesystem::is_directory(*dir, ec)) {
      // Not fatal: `make run` creates the demo application there on its first start, after
      // check-config has run on the fresh checkout. Reloads list the directory again.
      spdlog::warn("{}: {}: directory {} does not exist; no application files are read",
                   root.file().path.string(), r.key_path("applications_dir"), dir->string());
    }
    p.applications_dir = dir->string();
  }
}

void read_api(const table_reader& root, daemon_settings& out) {
  const toml::table* t = root.table("api");
  if (t == nullptr) return;
  const table_reader r(
      *t, "api", root.file(),
      {"rate_per_second", "burst", "create_batch_size", "create_batches_in_flight"});
  out.api.rate_per_second =
      r.integer("rate_per_second", 1, 1'000'000).value_or(out.api.rate_per_second);
  out.api.burst = r.integer("burst", 1, 1'000'000).value_or(out.api.burst);
  out.api.create_batch_size =
      r.integer("create_batch_size", 1, 1000).value_or(out.api.create_batch_size);
  out.api.create_batches_in_flight =
      r.integer("create_batches_in_flight", 1, 64).value_or(out.api.create_batches_in_flight);
}

void read_outbox(const table_reader& root, daemon_settings& out) {
  const toml::table* t = root.table("outbox");
  if (t == nullptr) return;
  const table_reader r(*t, "outbox", root.file(), {"retention_days"});
  out.outbox.retention_days =
      static_cast<int>(r.integer("retention_days", 0, 36500).value_or(out.outbox.retention_days));
}

}  // namespace

std::string station_id_problem(std::string_view station_id, std::string_view broker_id) {
  // pagoPA names a station after its broker (intermediary): "<broker fiscal code>_NN".
  const auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (station_id.size() != 14 || station_id[11] != '_' || !digits(station_id.substr(0, 11)) ||
      !digits(station_id.substr(12))) {
    return "must be the broker's fiscal code, '_' and two digits (e.g. 01234567897_01)";
  }
  if (!broker_id.empty() && station_id.substr(0, 11) != broker_id) {
    return "must start with the broker's fiscal code " + std::string(broker_id);
  }
  return {};
}

daemon_settings read_daemon_settings(const table_reader& root) {
  daemon_settings out;
  read_daemon_table(root, out);
  read_listeners(root, out);
  read_db(root, out);
  read_limits(root, out);
  read_logging(root, out);
  read_paths(root, out);
  read_api(root, out);
  read_outbox(root, out);
  read_journal(root, out.journal);
  read_imports(root, out.imports);
  read_pap(root, out.pap);
  check_pap_callers(root, out.pap, out.listeners);
  return out;
}

}  // namespace pagohub::config::detail
