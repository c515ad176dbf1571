#pragma once
// UTC instants as text: RFC 3339 / xsd:dateTime with a `Z` zone, the one form every API,
// receipt and journal answer of pagohub uses (ARCHITECTURE §5: times are UTC).
#include <chrono>
#include <string>

namespace pagohub::core {

/// "YYYY-MM-DDThh:mm:ss[.f]Z" with `fraction_digits` (0..6, clamped) digits of the second,
/// truncated, not rounded, so that a formatted time never lies after the instant itself.
std::string format_utc(std::chrono::system_clock::time_point t, int fraction_digits);

}  // namespace pagohub::core
