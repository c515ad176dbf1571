#pragma once
// Instants to and from SQL as bigint microseconds since the Unix epoch: exact both ways, and
// independent of the session's DateStyle and TimeZone. Every store passes times this way.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace pagohub::db {

inline std::int64_t to_micros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline std::chrono::system_clock::time_point from_micros(std::int64_t us) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(us)));
}

/// "$n (bigint microseconds) as a timestamptz".
inline std::string ts_param(int n) {
  return "('epoch'::timestamptz + $" + std::to_string(n) + "::bigint * interval '1 microsecond')";
}

/// "timestamptz expression as bigint microseconds".
inline std::string micros_of(std::string_view column) {
  const std::string c(column);
  return "(extract(epoch FROM " + c + ") * 1000000)::bigint";
}

/// The same, NULL for NULL and for the infinities (a column that may hold '-infinity').
inline std::string micros_or_null(std::string_view column) {
  const std::string c(column);
  return "(CASE WHEN isfinite(" + c + ") THEN (extract(epoch FROM " + c +
         ") * 1000000)::bigint END)";
}

}  // namespace pagohub::db
