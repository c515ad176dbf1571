// The receipts pull feed: SQL over receipts.feed_xid (sql/0014_receipt_feed.sql).
#include "receipt_feed.hpp"

#include <pqxx/pqxx>

#include <charconv>

namespace pagohub::api {

namespace {

constexpr std::string_view cursor_prefix = "r1.";

// libpqxx 6.4 has no array parameters: a text[] literal, each element quoted.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    out += '"';
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty() || s.size() > 20) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// The visibility rule of feed_scope, on receipts r LEFT JOIN positions p; $2 application,
// $3 every service granted, $4 the granted services.
constexpr std::string_view scope_sql =
    "((r.position_id IS NOT NULL AND p.application_id = $2 "
    "  AND ($3::boolean OR p.service_code = ANY($4::text[]))) "
    " OR (r.position_id IS NULL AND $3::boolean))";

}  // namespace

std::string format_feed_cursor(const feed_cursor& c) {
  return std::string(cursor_prefix) + std::to_string(c.xid) + "." + std::to_string(c.id);
}

std::optional<feed_cursor> parse_feed_cursor(std::string_view text) {
  if (!text.starts_with(cursor_prefix)) return std::nullopt;
  text.remove_prefix(cursor_prefix.size());
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  feed_cursor c;
  if (!parse_number(text.substr(0, dot), c.xid) || !parse_number(text.substr(dot + 1), c.id) ||
      c.id < 0) {
    return std::nullopt;
  }
  return c;
}

bool feed_cursor_known(pqxx::transaction_base& w, const feed_scope& scope,
                       const feed_cursor& after) {
  if (after == feed_cursor{}) return true;
  // The cursor is the last receipt a page handed out (feed_page::next), and that receipt keeps
  // its place: receipts are never deleted, and only held ones, which no page shows, get a new
  // feed_xid. Ownership, not the services granted, ties it to the application: a change of
  // grants in the configuration must not strand a cursor. The receipts_feed_idx lookup is one
  // index probe.
  const pqxx::result res = w.exec_params(
      "SELECT EXISTS (SELECT 1 FROM receipts r "
      "               LEFT JOIN positions p ON p.entity_fiscal_code = r.entity_fiscal_code "
      "                                    AND p.id = r.position_id "
      "               WHERE r.entity_fiscal_code = $1 AND r.feed_xid = $3::text::xid8 "
      "                 AND r.id = $4 AND (r.position_id IS NULL OR p.application_id = $2)) "
      // A logical dump restored elsewhere keeps the rows but numbers transactions from lower
      // down: new receipts would sort before every cursor handed out until the count caught up.
      "   AND $3::text::xid8 < pg_snapshot_xmax(pg_current_snapshot())",
      scope.entity_fc, scope.application_id, std::to_string(after.xid), after.id);
  return res[0][0].as<bool>();
}

feed_page read_feed(pqxx::transaction_base& w, const feed_scope& scope, const feed_cursor& after,
                    int limit) {
  // The horizon is computed once per statement (an initplan), from the same snapshot the scan
  // reads with: a row below it is either visible here or was rolled back.
  w.conn().prepare("api_receipt_feed",
                   "SELECT r.feed_xid::text, r.id FROM receipts r "
                   "LEFT JOIN positions p ON p.entity_fiscal_code = r.entity_fiscal_code "
                   "                     AND p.id = r.position_id "
                   "WHERE r.entity_fiscal_code = $1 "
                   "  AND r.feed_xid < (SELECT pg_snapshot_xmin(pg_current_snapshot())) "
                   "  AND (r.feed_xid, r.id) > ($5::text::xid8, $6::bigint) "
                   // A held receipt is not in the feed until the job applies it: then it moves
                   // to the feed's end (pap.settle_held_receipt), with its verdict, once.
                   "  AND r.anomaly IS DISTINCT FROM 'POSITION_BUSY' "
                   "  AND " +
                       std::string(scope_sql) + " ORDER BY r.feed_xid, r.id LIMIT $7");
  const pqxx::result res = w.exec_prepared(
      "api_receipt_feed", scope.entity_fc, scope.application_id, scope.services.empty(),
      text_array(scope.services), std::to_string(after.xid), after.id, limit);
  feed_page page;
  page.next = after;
  if (res.empty()) return page;
  std::vector<std::int64_t> ids;
  std::vector<feed_cursor> places;
  ids.reserve(res.size());
  places.reserve(res.size());
  for (const auto& row : res) {
    feed_cursor c;
    if (!parse_number(std::string_view(row[0].c_str()), c.xid)) {
      throw std::logic_error("receipts.feed_xid is not a decimal number");
    }
    c.id = row[1].as<std::int64_t>();
    ids.push_back(c.id);
    places.push_back(c);
  }
  // The rows come back in id order; the feed's order is (xid, id).
  auto rows = pap::find_receipts_by_row_ids(w, scope.entity_fc, ids);
  page.items.reserve(places.size());
  for (const auto& place : places) {
    auto it =
        std::lower_bound(rows.begin(), rows.end(), place.id,
                         [](const pap::stored_receipt& r, std::int64_t id) { return r.id < id; });
    // Receipts are never deleted: a row seen by the first statement is there for the second.
    if (it == rows.end() || it->id != place.id) {
      throw std::logic_error("a receipt of the feed disappeared within its transaction");
    }
    page.items.push_back(std::move(*it));
  }
  page.next = places.back();
  return page;
}

std::optional<pap::stored_receipt> find_scoped_receipt(pqxx::transaction_base& w,
                                                       const feed_scope& scope,
                                                       std::string_view receipt_id) {
  const pqxx::result res = w.exec_params(
      "SELECT r.id FROM receipts r "
      "LEFT JOIN positions p ON p.entity_fiscal_code = r.entity_fiscal_code "
      "                     AND p.id = r.position_id "
      "WHERE r.entity_fiscal_code = $1 AND r.receipt_id = $5 "
      // As in the feed: a held receipt is shown once the job has applied it, with its verdict
      // and position (while held it has neither, and would be shown to whoever the entity's
      // grant covers, not to the position's application).
      "  AND r.anomaly IS DISTINCT FROM 'POSITION_BUSY' AND " +
          std::string(scope_sql),
      scope.entity_fc, scope.application_id, scope.services.empty(), text_array(scope.services),
      std::string(receipt_id));
  if (res.empty()) return std::nullopt;
  auto rows = pap::find_receipts_by_row_ids(w, scope.entity_fc, {res[0][0].as<std::int64_t>()});
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::string to_json(const feed_page& page) {
  std::string out = "{\"items\":[";
  for (std::size_t i = 0; i < page.items.size(); ++i) {
    if (i != 0) out += ',';
    out += pap::to_json(page.items[i]);
  }
  out += "],\"nextCursor\":\"" + format_feed_cursor(page.next) + "\"}";
  return out;
}

}  // namespace pagohub::api
