#pragma once
// journal_events / journal_payloads rows: from an event to its stored form, and the two ways
// to write them (one INSERT, or one COPY for a batch).
#include <pagohub/journal/canonical.hpp>
#include <pagohub/journal/event.hpp>

#include <pqxx/row>
#include <pqxx/transaction_base>

#include <optional>
#include <vector>

namespace pagohub::journal::detail {

/// At most `max_chars` characters of valid UTF-8 without NUL; bad bytes become '?'.
std::string cut(std::string_view s, std::size_t max_chars);

/// An event ready to write: its row (id 0 until written) and its stored payload, if any.
struct prepared_event {
  stored_event row;
  std::optional<stored_payload> payload;
};

/// The stored form of `e`: text cut to its column's length (in characters), empty text as
/// NULL for optional columns, defaults for required ones, a malformed notice number moved into
/// parametriSpecificiInterfaccia; the payload digest set when `payload` is given. An event time
/// at the epoch becomes `now`.
stored_event normalise(const event& e, event::time_point now,
                       const std::optional<stored_payload>& payload);

/// Writes one event with an INSERT (and its payload with another); sets e.row.id.
void insert_one(pqxx::transaction_base& w, prepared_event& e);

/// Writes a batch: ids from the sequence in one statement, then one COPY for the events and
/// one for the payloads. Sets each row.id; a batch whose rows have their ids already (drawn by
/// an earlier attempt) keeps them.
void copy_many(pqxx::transaction_base& w, std::vector<prepared_event>& batch);

/// copy_many() for the writer, whose attempts may end in doubt: a broken connection during the
/// COMMIT leaves the client unable to tell whether the batch was written. The ids are drawn
/// once, by the first attempt, and kept; a later attempt first looks for the batch's first
/// event (a batch is written whole or not at all) and writes nothing if it is there. Returns
/// false in that case, true when it wrote the batch.
bool write_batch(pqxx::transaction_base& w, std::vector<prepared_event>& batch);

/// The SELECT list (with table alias `alias`) whose columns read_event() reads back: the
/// stored_event fields in order, 26 columns.
std::string event_select_list(std::string_view alias);

/// Columns [first, first + 26) of `r`, as selected by event_select_list().
stored_event read_event(const pqxx::row& r, int first = 0);

/// Lowercase hex of a digest.
inline std::string to_hex_string(const digest& d) {
  return to_hex(d);
}

/// A digest from 64 hex digits; nullopt for anything else.
std::optional<digest> digest_from_hex(std::string_view hex);

/// "2024-05-01T10:11:12.345678Z": the timestamptz literal of a time in microseconds.
std::string timestamptz_literal(std::int64_t time_us);

/// PostgreSQL's hex form of a bytea ("\x0a1b...").
std::string bytea_hex(std::string_view bytes);

}  // namespace pagohub::journal::detail
