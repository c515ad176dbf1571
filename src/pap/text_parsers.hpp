#pragma once
// The exact parsers of the schema's text types that the bindings leave as text (wsdl/typemap.dat):
// decimal amounts (core::parse_decimal_amount), dates (positions::parse_date) and instants.
#include <pagohub/core/amount.hpp>
#include <pagohub/core/error.hpp>
#include <pagohub/positions/model.hpp>

#include <optional>
#include <string_view>

namespace pagohub::pap {

/// Parses xsd:dateTime "YYYY-MM-DDThh:mm:ss", optional fraction (up to 9 digits, kept to the
/// microsecond), optional zone "Z" or "+hh:mm"/"-hh:mm". Without a zone the time is Italian civil
/// time (Europe/Rome: what pagoPA's messages carry), converted with the EU summer-time rule.
/// nullopt for anything else or an impossible date or time.
std::optional<positions::timestamp> parse_xsd_datetime(std::string_view text) noexcept;

/// The UTC offset of Italian civil time at instant `t`: one hour, two in summer time (from the
/// last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC).
std::chrono::minutes rome_offset(positions::timestamp t) noexcept;

/// "YYYY-MM-DDThh:mm:ss" in Italian civil time, no zone (the form pagoPA's messages use).
std::string format_rome_datetime(positions::timestamp t);

/// An amount the schema says is a decimal with two digits (stAmount), as cents; `at_least_cent`
/// for stAmountNotZero / stImportoDiversoDaZero. errc::invalid_input otherwise.
core::result<core::amount_cents> parse_amount(std::string_view text, bool at_least_cent);

}  // namespace pagohub::pap
