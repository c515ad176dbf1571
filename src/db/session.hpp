#pragma once
// One pooled connection and the rules for opening it: what every pagohubd session sets, and how
// to tell a lost connection from an ordinary SQL error.
#include <pqxx/connection>
#include <pqxx/errorhandler>

#include <memory>
#include <string>
#include <string_view>

#include "pagohub/db/detail/jobs.hpp"
#include "pagohub/db/executor.hpp"

namespace pagohub::db::detail {

/// The conninfo every pool connection uses: the configured one, normalised to keyword form,
/// plus connect_timeout, application_name=pagohubd (unless set) and statement_timeout (as a
/// startup option, so it costs no round trip and holds from the first statement on).
/// Throws std::invalid_argument when libpq cannot parse the configured conninfo.
std::string session_conninfo(const pool_settings& settings);

/// True for SQLSTATEs that mean the session is gone rather than the statement was wrong:
/// class 08 (connection exception) and 57P01..57P03 (administrator or crash shutdown).
bool is_connection_loss(std::string_view sqlstate) noexcept;

/// The SET TRANSACTION statement for a non-default mode, or empty for READ COMMITTED
/// READ WRITE (which needs none).
std::string_view set_transaction_sql(isolation level, access mode) noexcept;

/// An open connection, with its server notices routed to the log instead of stderr.
class session {
 public:
  /// Connects; throws pqxx::broken_connection when the server cannot be reached.
  explicit session(const std::string& conninfo);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  pqxx::connection& connection() noexcept { return *connection_; }
  bool is_open() const noexcept { return connection_->is_open(); }

  /// The server's last FATAL message on this session ("terminating connection due to
  /// administrator command"), or empty. libpqxx reports a dropped session with a generic
  /// error; this is the reason worth logging.
  std::string last_fatal_notice() const;

 private:
  class notice_logger;

  std::unique_ptr<pqxx::connection> connection_;
  // Declared after the connection: an error handler must go before its connection does.
  std::unique_ptr<notice_logger> notices_;
};

}  // namespace pagohub::db::detail
