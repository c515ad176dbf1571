#pragma once
// The REST body of a debt position (docs/api/backoffice.yaml, schema Position) to and from the
// domain struct. Exact and strict: unknown or read-only members, wrong types, amounts that are
// not integers (cents), malformed dates and timestamps are refused, each with its JSON-pointer
// path. Rules about values (lengths, sums, IBANs, services) are the positions module's.
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/model.hpp>

#include <nlohmann/json.hpp>

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "strict_json.hpp"

namespace pagohub::api {

/// Decodes a request body (create or replace). Fields the caller may not set (status, IUVs,
/// timestamps, version) are refused as read-only. entity, application and the external id from
/// the URL are the caller's to fill in.
std::expected<positions::position, json_problem> decode_position(std::string_view body);

/// Same, from a document already parsed with parse_strict_json (NDJSON lines, for instance).
/// `base` prefixes every error path ("" for a whole body).
std::expected<positions::position, json_problem> decode_position_document(
    const nlohmann::json& doc, const std::string& base = {});

/// The response shape: the request shape plus status, per-option iuv/status/paidAt/receiptId,
/// createdAt, updatedAt, publishedAt and version.
nlohmann::ordered_json encode_position(const positions::position& p);

/// One option with its position, for GET /notices/{noticeNumber}.
nlohmann::ordered_json encode_notice(const positions::position& p, std::size_t option_index);

/// RFC 3339 in UTC with microseconds: "2025-01-31T09:30:00.123456Z".
std::string format_timestamp(positions::timestamp t);
/// The years parse_timestamp accepts: every instant of this API lies within them, and the
/// clock (nanoseconds since 1970) holds them without wrapping.
inline constexpr int min_timestamp_year = 1970;
inline constexpr int max_timestamp_year = 2200;

/// RFC 3339 (§5.6 date-time) with the offset "Z" or "+00:00"/"-00:00": UTC only, so that a
/// stored instant never depends on a sender's time zone. Fractions of up to 9 digits. Years
/// outside min_timestamp_year..max_timestamp_year are refused (nullopt).
std::optional<positions::timestamp> parse_timestamp(std::string_view text);

}  // namespace pagohub::api
