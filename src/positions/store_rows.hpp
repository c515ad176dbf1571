#pragma once
// What the store's files share: converting rows to positions, loading the children of a set of
// positions in a constant number of queries, and writing position_events rows.
#include <boost/json/array.hpp>
#include <pagohub/db/sql_time.hpp>
#include <pagohub/positions/store.hpp>
#include <pqxx/dbtransaction>
#include <pqxx/result>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::positions::detail {

// Instants travel as microseconds since the Unix epoch (db/sql_time.hpp).
using db::from_micros;
using db::micros_of;
using db::to_micros;
using db::ts_param;

/// The select list that read_position() understands, for table alias `p`.
const std::string& position_columns();

/// A row of position_columns() as a position without options.
position read_position(const pqxx::row& row);

/// Fills the options (with transfers and accounting lines) of `positions`, which must all be
/// rows of the same query: three queries, whatever the number of positions.
void load_children(pqxx::dbtransaction& w, std::vector<position>& positions);

/// The position (entity, id) with its children, or nullopt.
std::optional<position> load_by_id(pqxx::dbtransaction& w, std::string_view entity_fc,
                                   std::int64_t id);

/// A PostgreSQL array literal of decimal ids, for `= ANY($n::bigint[])`.
std::string id_array(const std::vector<std::int64_t>& ids);

/// A PostgreSQL array literal of 11-digit entity codes (anything else is dropped: it could
/// match no row anyway), for `= ANY($n::text[])`.
std::string entity_array(const std::vector<std::string>& codes);

/// Metadata as stored: a JSON array of {"key","value"} objects, in order (allocated from `sp`,
/// so a create batch builds it on its own buffer); as text.
boost::json::array metadata_document(const std::vector<std::pair<std::string, std::string>>& md,
                                     boost::json::storage_ptr sp = {});
std::string metadata_json(const std::vector<std::pair<std::string, std::string>>& md);

/// Throws std::invalid_argument for an actor the schema would refuse (a caller bug).
void check_actor(const actor& by);

/// errc::conflict when a 2018-model payment of one of the position's notices is in progress
/// (rpt_payment_in_progress, sql/0030): between a PSP's paaAttivaRPT and the RT the position
/// cannot be replaced or cancelled, or the RPT's amounts would no longer be the position's.
/// Call it with the position's row locked: the activation takes the same lock.
std::optional<core::error> payment_in_progress(pqxx::dbtransaction& w, std::string_view entity_fc,
                                               std::int64_t position_id, timestamp now);

/// One position_events row.
struct event_row {
  std::string_view entity_fc;
  std::int64_t position_id = 0;
  std::string_view event;
  std::optional<position_status> from;
  position_status to = position_status::draft;
  timestamp at{};
  std::optional<std::string> notice_number{};
  std::optional<std::string> receipt_id{};
};

void record_event(pqxx::dbtransaction& w, const event_row& e, const actor& by);

}  // namespace pagohub::positions::detail
