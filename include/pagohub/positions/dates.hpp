#pragma once
// Calendar dates as people read them: due dates are days in Europe/Rome (ARCHITECTURE §5), so
// "today" and "is this due date past" depend on Italian civil time, not on UTC.
#include <pagohub/positions/model.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace pagohub::positions {

/// The civil date in Europe/Rome at instant `t`: UTC+1 (CET), or UTC+2 (CEST) from the last
/// Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC (the EU summer-time rule
/// Italy follows since 1996). Computed without a time-zone database, which GCC 12's
/// libstdc++ does not provide.
date rome_date(timestamp t) noexcept;

/// "YYYY-MM-DDThh:mm:ss" in Europe/Rome civil time at `t`, by the same rule (the xsd:dateTime
/// without a zone that the RPT/RT and the receipts carry).
std::string rome_date_time(timestamp t);

/// "YYYY-MM-DD" (xsd:date without a zone). Years outside 0..9999 are not formatted faithfully.
std::string format_date(date d);

/// Parses exactly "YYYY-MM-DD" into a real calendar date (no 30 February), or nullopt.
std::optional<date> parse_date(std::string_view text) noexcept;

}  // namespace pagohub::positions
