#pragma once
// Prepared statements: a hot statement is parsed and planned once per pool connection instead
// of on every call (PostgreSQL switches a prepared statement to a generic plan after five
// executions when that plan is no worse, which for key lookups and single-row writes it is).
//
// A module declares each statement once, next to the code that runs it:
//
//   constexpr db::statement find_option{"positions.find_option",
//                                       "SELECT ... WHERE entity_fiscal_code = $1 AND ..."};
//
// and a transaction body runs it by that declaration:
//
//   const pqxx::result r = db::exec_prepared(w, find_option, entity_fc, notice_number);
//
// exec_prepared() registers the definition on the body's connection when that connection does
// not know it yet (libpqxx 6.4 `connection_base::prepare`: no round trip; the PREPARE travels
// with the first execution) and then runs `transaction_base::exec_prepared`. The executor
// replaces a lost connection with a fresh one, which knows no statement: the first use there
// prepares it again, so nothing needs re-registering after a reconnect.
//
// Names are global to a connection: prefix them with the module ("positions.", "pap.",
// "journal."). Two declarations with one name and different SQL are a bug that libpqxx reports
// (pqxx::argument_error) on the connection that sees both.
#include <pqxx/connection_base>
#include <pqxx/field>
#include <pqxx/result>
#include <pqxx/transaction_base>

#include <optional>
#include <string>
#include <utility>

namespace pagohub::db {

/// A statement prepared on demand, per connection. Both strings must outlive every use (a
/// string literal does); `sql` uses $1, $2, ... placeholders.
struct statement {
  const char* name;
  const char* sql;
};

/// Registers `s` on connection `c` unless it already is (a map lookup). Cheap enough to call
/// before every execution; exec_prepared() does.
void prepare(pqxx::connection_base& c, const statement& s);

/// Runs the prepared statement `s` in transaction `w` with `args` as $1, $2, ... (an empty
/// std::optional is NULL), preparing it on w's connection first if needed.
template <class... Args>
pqxx::result exec_prepared(pqxx::transaction_base& w, const statement& s, Args&&... args) {
  prepare(w.conn(), s);
  return w.exec_prepared(s.name, std::forward<Args>(args)...);
}

/// A nullable text column as an optional (NULL: nullopt).
inline std::optional<std::string> optional_text(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str());
}

}  // namespace pagohub::db
