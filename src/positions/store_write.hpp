#pragma once
// What the writing files of the store share (store_create.cpp, store_write.cpp): the create
// statement for one or many positions, and the children CTEs of the create and the replace.
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <pagohub/positions/store.hpp>
#include <pqxx/transaction_base>

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace pagohub::positions::detail {

/// The children of positions (options, transfers, accounting lines) as three JSON arrays, each
/// row keyed by its position's k; children_sql() inserts them with json_to_recordset: one
/// statement for all of them.
///
/// Built with Boost.JSON on one monotonic buffer, like the positions' own document
/// (write_new()): a batch's documents are written once and dropped, and building them as
/// nlohmann::json trees (a std::map per row) took about an eighth of the daemon's CPU per create.
struct children_doc {
  boost::json::monotonic_resource memory;  // before the arrays, which allocate from it
  boost::json::array options = boost::json::array(boost::json::storage_ptr(&memory));
  boost::json::array transfers = boost::json::array(boost::json::storage_ptr(&memory));
  boost::json::array accounting = boost::json::array(boost::json::storage_ptr(&memory));

  void add(const position& p, int k);
  /// The three parameters children_sql() reads, in its order.
  std::string options_json() const;
  std::string transfers_json() const;
  std::string accounting_json() const;
};

/// CTEs o, ok, t and a, inserting the children in parameters $n (options), $n+1 (transfers)
/// and $n+2 (accounting lines) of the positions that CTE `pk` returns as (k,
/// entity_fiscal_code, id). Foreign keys are checked at the end of the statement, so
/// accounting lines may refer to transfers inserted by the same statement.
///
/// Three json parameters rather than one jsonb document: a cast of a parameter is evaluated
/// wherever it appears, so one document read by three CTEs was parsed three times, and
/// json_to_recordset reads text about twice as fast as jsonb_in builds a jsonb value.
std::string children_sql(int n);

/// Inserts the positions, their CREATED events and their children in one statement; every
/// option must have its notice number and IUV. A position whose key exists is left alone
/// (ON CONFLICT DO NOTHING). Returns the new ids by index in `items`.
std::map<std::size_t, std::int64_t> write_new(pqxx::transaction_base& tx,
                                              std::span<const new_position* const> items);

/// Sets what a create gives a position: id, DRAFT, version 1, created and updated at `now`.
void mark_created(position& p, std::int64_t id, timestamp now);

}  // namespace pagohub::positions::detail
