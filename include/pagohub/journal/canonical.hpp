#pragma once
// The stored form of an event and the bytes its hash covers. This is the contract of
// `pagohubd journal verify` (and of anyone verifying an export independently, docs/journal.md):
//
//   canonical(event) = "pagohub-journal-event-v1" then, for each field of stored_event in
//                      declaration order, 0x00 for NULL or 0x01, the value's byte length as
//                      4 bytes big-endian, and the value (integers in decimal, the event time
//                      as microseconds since 1970-01-01 UTC in decimal, the payload digest as
//                      64 lowercase hex digits)
//   link(n)          = SHA-256(link(n-1) || canonical(event n))
//   link(0)          = SHA-256("pagohub journal YYYY-MM")  (the month of the chain)
//
// The payload digest, stored with the event and so covered by its link, is
//   SHA-256("pagohub-journal-payload-v1" || fields content_type, original_bytes, headers,
//           body (the zlib stream) encoded as above).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::journal {

/// A SHA-256 digest.
using digest = std::array<unsigned char, 32>;

/// An event as stored in journal_events (NULL = nullopt). Field order is the canonical order.
struct stored_event {
  std::int64_t id = 0;
  std::int64_t time_us = 0;  ///< event_time, microseconds since the Unix epoch, UTC
  std::string category;      ///< "INTERFACCIA" or "INTERNO"
  std::optional<std::string> entity_fc, iuv, ccp, psp_id, payment_type;
  std::string component, event_type, event_subtype, caller_id, provider_id;
  std::optional<std::string> station_id, channel_id, interface_params, outcome;
  std::optional<std::string> request_id, notice_number;
  std::string actor_kind, actor_id;
  std::optional<std::int64_t> duration_ms, http_status;
  std::optional<std::string> fault_code;
  std::string interface;
  std::optional<digest> payload_sha256;
};

/// A payload as stored in journal_payloads.
struct stored_payload {
  std::string content_type;
  std::int64_t original_bytes = 0;  ///< size of the redacted body before compression
  std::string headers;              ///< redacted, "Name: value" lines
  std::string body;                 ///< zlib stream of the redacted body
};

/// SHA-256 of `bytes`.
digest sha256(std::string_view bytes);

/// The canonical bytes of an event (see above).
std::string canonical_content(const stored_event& e);

/// The digest of a stored payload (see above).
digest payload_digest(const stored_payload& p);

/// link(0) of the chain of the month `year`-`month` (1..12).
digest genesis_link(int year, unsigned month);

/// SHA-256(previous || canonical).
digest chain_link(const digest& previous, std::string_view canonical);

/// Lowercase hex.
std::string to_hex(const digest& d);

/// "2024-05-01T10:11:12.345678Z" for a time in microseconds since the epoch.
std::string format_time_us(std::int64_t time_us, int fraction_digits = 6);

}  // namespace pagohub::journal
