#pragma once
// Reading the journal: filtered, scoped, keyset-paginated lists, one event with its payload,
// and a notice's timeline. Every read is scoped to the caller's entities (ARCHITECTURE §5);
// events tied to no entity (daemon lifecycle, reloads) are visible to admins only. A
// back-office application reads only what concerns it within those entities (see scope).
#include <pagohub/journal/canonical.hpp>

#include <pqxx/transaction_base>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::journal {

/// Whose events a caller may read.
struct scope {
  std::vector<std::string> entities;  ///< fiscal codes granted
  bool all = false;                   ///< admins: every entity, and events of none
  /// Set for a back-office application: within `entities`, only the events it caused (actor
  /// `application` with this id), those whose IUV was first issued to it (notice_owners), and
  /// the exchanges with its own integrations (`providers`). Other applications of the same
  /// entity (another office's payers, receipts and webhooks) stay out of its answers.
  /// Empty: every event of `entities`.
  std::optional<std::string> application = std::nullopt;
  /// identificativoErogatore values that are the application's: its integrations' ids.
  std::vector<std::string> providers = {};
  /// With `application`: also the events whose IUV was never issued to an application of the
  /// entity (a receipt for an unknown notice, a verify of one), as the receipts feed shows such
  /// receipts to an application granted every service of its entities; but not those another
  /// application caused, nor the exchanges with `foreign_providers`.
  bool orphans = false;
  /// The other applications' integrations: their exchanges about unknown notices (a failed
  /// lookup) are theirs.
  std::vector<std::string> foreign_providers = {};

  /// Whether the entity is one of those read (admins: every one).
  bool grants(std::string_view entity) const;
};

/// Filters; empty optionals do not filter.
struct filter {
  std::optional<std::string> entity;         ///< identificativoDominio
  std::optional<std::string> iuv;            ///< identificativoUnivocoVersamento
  std::optional<std::string> notice_number;  ///< 18 digits
  std::optional<std::string> request_id;
  std::optional<std::string> event_type;  ///< tipoEvento
  std::optional<std::string> outcome;     ///< esito
  std::optional<std::int64_t> from_us;    ///< event time >= from (microseconds since epoch)
  std::optional<std::int64_t> to_us;      ///< event time < to
};

/// Where a page ends: events are ordered by (event time, id).
struct position_key {
  std::int64_t time_us = 0;
  std::int64_t id = 0;
};

/// The opaque cursor of a position ("v1" + base64url).
std::string encode_cursor(position_key k);
/// nullopt for anything encode_cursor did not make.
std::optional<position_key> decode_cursor(std::string_view cursor);

struct page_request {
  filter where;
  std::optional<position_key> after;  ///< exclusive
  int limit = 100;                    ///< clamped to 1..5000
};

struct page {
  std::vector<stored_event> items;  ///< in (event time, id) order
  bool more = false;                ///< further events match after the last item
};

/// One page of events matching `r` within `s`. Uses the timeline index for entity + notice
/// number, the IUV index for IUV (and for a notice number without entity, through its IUV),
/// the request id index, and per-entity (entity, time) index scans merged for the rest.
/// An entity outside `s` yields nothing (the REST layer answers 403 before asking).
page find_events(pqxx::transaction_base& w, const scope& s, const page_request& r);

/// What became of an event's payload.
enum class payload_state {
  none,     ///< never stored (policy, or no message)
  stored,   ///< here, in `payload`
  expired,  ///< dropped by payload retention
};

struct event_detail {
  stored_event event;
  payload_state state = payload_state::none;
  std::optional<stored_payload> payload;  ///< as stored (body compressed)
  std::optional<std::string> body;        ///< the body inflated; nullopt if corrupt
};

/// The event `id` with its payload, or nullopt when there is none within `s`.
std::optional<event_detail> get_event(pqxx::transaction_base& w, const scope& s, std::int64_t id);

}  // namespace pagohub::journal
