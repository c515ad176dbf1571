#pragma once
// UTC instants as text: RFC 3339 / xsd:dateTime with a `Z` zone, the one form every API,
// receipt and journal answer of pagohub uses (ARCHITECTURE §5: times are UTC).
#include <chrono>
#include <string>

namespace pagohub::core {

/// "YYYY-MM-DDThh:mm:ss[.f]Z" with `fraction_digits` (0..6, clamped) digits of the second,
/// truncated, not rounded, so that a formatted time never lies after the instant itself.
/// Microseconds cover years 0000..9999 (a query's "until 9999-12-31" among them), where
/// system_clock's nanoseconds end in 2262.
std::string format_utc(std::chrono::sys_time<std::chrono::microseconds> t, int fraction_digits);

/// The same for any other precision (system_clock::time_point, sys_seconds...).
template <class Duration>
std::string format_utc(std::chrono::sys_time<Duration> t, int fraction_digits) {
  return format_utc(std::chrono::floor<std::chrono::microseconds>(t), fraction_digits);
}

}  // namespace pagohub::core
