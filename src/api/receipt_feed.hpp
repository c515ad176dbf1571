#pragma once
// The receipts pull feed (GET /api/v1/entities/{fc}/receipts?after=&limit=): the back-office's
// alternative to webhooks, a change feed whose cursor never skips a receipt committed out of
// order (sql/0014_receipt_feed.sql says how; docs/integration.md "Pull feed").
#include <pagohub/pap/receipts.hpp>

#include <pqxx/transaction_base>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::api {

/// A place in the feed: the inserting transaction's id (xid8, as decimal text) and the row id.
/// Rows are handed out in (xid, id) order; the cursor is the last one handed out.
struct feed_cursor {
  std::uint64_t xid = 0;
  std::int64_t id = 0;

  friend bool operator==(const feed_cursor&, const feed_cursor&) = default;
};

/// The opaque text of a cursor ("<xid>.<id>" in base 10, prefixed "r1." so that a later format
/// can be told apart).
std::string format_feed_cursor(const feed_cursor& c);
/// The inverse of format_feed_cursor; nullopt when `text` is not one.
std::optional<feed_cursor> parse_feed_cursor(std::string_view text);

/// Which receipts of an entity a back-office application sees in the feed and by id:
///  - the receipts matched to a position the application owns, in a service it is granted;
///  - when it is granted every service of the entity (no `services` list), also the receipts
///    matched to no position (anomalies such as UNKNOWN_POSITION): they may belong to any
///    service, so only an application with the whole entity can claim them.
struct feed_scope {
  std::string entity_fc;
  std::string application_id;
  std::vector<std::string> services;  ///< granted service codes; empty = all of them
};

/// One page of the feed.
struct feed_page {
  std::vector<pap::stored_receipt> items;
  /// Where the next call starts: the last item's place, or `after` itself when the page is
  /// empty. Never behind `after`.
  feed_cursor next;
};

/// Whether `after` is a place this feed can have handed to `scope`'s application: the start
/// (0.0), or the place of a receipt of this entity that is not another application's, from a
/// transaction this database has already numbered. Anything else is refused rather than read
/// from: a cursor of another entity or application sits at an unrelated place of this feed, and
/// one from a database since restored to an earlier point (or rebuilt from a logical dump) may
/// be ahead of receipts committed after the restore; either way reading on would skip them.
bool feed_cursor_known(pqxx::transaction_base& w, const feed_scope& scope,
                       const feed_cursor& after);

/// The receipts in `scope` after `after`, at most `limit` (1..500), oldest transaction first.
/// Only rows whose inserting transaction is below the statement snapshot's xmin are returned:
/// every transaction that could still commit a row before them has finished, so no later page
/// can contain a row that sorts before this page's last one.
feed_page read_feed(pqxx::transaction_base& w, const feed_scope& scope, const feed_cursor& after,
                    int limit);

/// The receipt with this receipt id, when it is in `scope`.
std::optional<pap::stored_receipt> find_scoped_receipt(pqxx::transaction_base& w,
                                                       const feed_scope& scope,
                                                       std::string_view receipt_id);

/// The page as GET .../receipts answers it (ReceiptFeedPage): {"items": [Receipt...],
/// "nextCursor": "..."}.
std::string to_json(const feed_page& page);

}  // namespace pagohub::api
