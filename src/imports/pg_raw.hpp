#pragma once
// A bare libpq connection for the two things libpqxx 6 does not do the way a bulk load needs:
// COPY FROM STDIN fed with ready-made text in large blocks (stream_to formats and escapes
// field by field, and its raw-line writer is private), and bytea values read in binary (the
// text format doubles them in hex). Everything else goes through libpqxx.
#include <libpq-fe.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::imports::detail {

class raw_connection {
 public:
  /// Connects; throws pqxx::broken_connection when it cannot.
  explicit raw_connection(const std::string& conninfo);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  /// Runs a statement without result rows; throws pqxx::sql_error (or broken_connection).
  void exec(const std::string& sql);

  /// The first column of the first row of `sql` ($1.. = `params`, text) in binary form, or
  /// nullopt when there is no row. For bytea columns.
  std::optional<std::string> fetch_binary(const std::string& sql,
                                          const std::vector<std::string>& params);

  /// Sends `sql` ($1.. = `params`, text) without waiting for its answer; receive_row() collects
  /// it. One query in flight at a time.
  void send_query(const std::string& sql, const std::vector<std::string>& params);
  /// Waits for the answer of send_query(): the first row's fields as text (nullopt for NULL),
  /// empty when there is no row.
  std::vector<std::optional<std::string>> receive_row();

  /// COPY ... FROM STDIN: begin, send text in any pieces, end (which reports the server's
  /// verdict). The statement runs in its own implicit transaction.
  void copy_begin(const std::string& copy_sql);
  void copy_send(std::string_view data);
  void copy_end();
  /// Ends a COPY in progress with an error, so that nothing of it is kept.
  void copy_abort(const std::string& why) noexcept;

  /// Asks the server to cancel the statement in progress; callable from another thread.
  void cancel() noexcept;

 private:
  [[noreturn]] void fail(const std::string& what, const char* sql = nullptr);
  PGconn* conn_ = nullptr;
  PGcancel* cancel_ = nullptr;
  bool copying_ = false;
};

}  // namespace pagohub::imports::detail
