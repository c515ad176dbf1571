#pragma once
// Instants to and from SQL as bigint microseconds since the Unix epoch (as the positions and
// imports stores do): exact both ways, independent of the session's DateStyle and TimeZone.
#include <chrono>
#include <cstdint>
#include <string>

namespace pagohub::integration::detail {

inline std::int64_t to_micros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline std::chrono::system_clock::time_point from_micros(std::int64_t us) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(us)));
}

/// "$n (bigint microseconds) as a timestamptz".
inline std::string ts(int n) {
  return "('epoch'::timestamptz + $" + std::to_string(n) + "::bigint * interval '1 microsecond')";
}

/// "timestamptz expression as bigint microseconds" (NULL for NULL and infinities).
inline std::string micros(const std::string& column) {
  return "(CASE WHEN isfinite(" + column + ") THEN (extract(epoch FROM " + column +
         ") * 1000000)::bigint END)";
}

}  // namespace pagohub::integration::detail
