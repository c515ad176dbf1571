#pragma once
// Instants to and from SQL as bigint microseconds since the Unix epoch: exact both ways, and
// independent of the session's DateStyle and TimeZone (the positions store does the same).
#include <pagohub/positions/model.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace pagohub::imports::detail {

inline std::int64_t to_micros(positions::timestamp t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline positions::timestamp from_micros(std::int64_t us) {
  return positions::timestamp(
      std::chrono::duration_cast<positions::timestamp::duration>(std::chrono::microseconds(us)));
}

/// "$n (bigint microseconds) as a timestamptz".
inline std::string ts_param(int n) {
  return "('epoch'::timestamptz + $" + std::to_string(n) + "::bigint * interval '1 microsecond')";
}

/// "timestamptz column as bigint microseconds".
inline std::string micros_of(std::string_view column) {
  const std::string c(column);
  return "(extract(epoch FROM " + c + ") * 1000000)::bigint";
}

}  // namespace pagohub::imports::detail
