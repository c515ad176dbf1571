#pragma once
// The rules a debt position must satisfy before it is stored (issue 3, DIGEST §4-§6, the
// paForNode XSD types). Pure functions, no I/O: the REST layer, the bulk imports and the store
// all judge a position the same way. docs/positions.md lists every rule with its source.
#include <pagohub/config/entity.hpp>
#include <pagohub/positions/model.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::positions {

/// One broken rule. `path` is a JSON pointer in the REST body's camelCase shape
/// ("/paymentOptions/0/transfers/1/iban"), where `paymentOptions` is the flat array of options
/// in input order; `code` is one of the `error_codes` below.
struct field_error {
  std::string path;
  std::string code;
  std::string message;
};

/// The stable, machine-readable words of field_error::code.
namespace error_codes {
inline constexpr std::string_view required = "required";  ///< missing or empty
inline constexpr std::string_view too_long = "too_long";  ///< longer than the XSD type allows
/// wrong shape: characters, pattern, check digit, not valid UTF-8, unparseable
inline constexpr std::string_view invalid = "invalid";
inline constexpr std::string_view out_of_range = "out_of_range";  ///< number or date off limits
/// an IBAN that is not among the beneficiary entity's registered accounts
inline constexpr std::string_view not_registered = "not_registered";
inline constexpr std::string_view unknown_service = "unknown_service";
inline constexpr std::string_view sum_mismatch = "sum_mismatch";  ///< parts do not add up
inline constexpr std::string_view duplicate = "duplicate";
inline constexpr std::string_view count = "count";      ///< too many or too few items
inline constexpr std::string_view in_past = "in_past";  ///< a due date before today
/// fields that contradict each other (stamp with IBAN, validity after due date, kind vs
/// instalment number)
inline constexpr std::string_view inconsistent = "inconsistent";
/// a notice number outside the entity's notice space (aux digit and segregation or
/// application code, DIGEST §5)
inline constexpr std::string_view not_owned = "not_owned";
}  // namespace error_codes

/// What the rules need besides the position itself.
struct validation_context {
  const config::entity& entity;             ///< the creditor entity the position belongs to
  const config::entity_registry& registry;  ///< to check other beneficiaries' IBANs
  date today;                               ///< today in Europe/Rome (rome_date(clock.now()))
  bool is_new;  ///< true for a create: due dates must not be in the past
  /// Whether a notice number outside the entity's notice space is the application's own all
  /// the same: issued before the entity's space changed (a new segregation code, a move from
  /// aux digit 0 to 3), and still on the position or recorded as the application's
  /// (positions::owned_notices). Without it, every such number is `not_owned`.
  std::function<bool(const std::string& notice_number)> owns_notice = {};
};

/// Limits of our own (pagoPA sets none): they bound the work one request can cause.
inline constexpr std::size_t max_payment_options = 100;
inline constexpr std::size_t max_accounting_entries = 50;
/// The longest external id: its characters are ASCII, so 35 bytes (stText35, GPD's iupd).
inline constexpr std::size_t max_external_id_length = 35;
/// pagoPA limits (paForNode.xsd, GPD): transfers per option, metadata pairs per position.
inline constexpr std::size_t max_transfers = 5;
inline constexpr std::size_t max_metadata = 10;

/// The years a due date, a validity date, a reference or a budget year may be in: catches
/// typos (0225, 20255), and keeps every date an instant that the clocks (nanoseconds, up to
/// 2262) can hold.
inline constexpr int min_year = 2000;
inline constexpr int max_year = 2100;

/// Fills what the input may leave out and puts identifiers in their canonical form, so that
/// validate() judges exactly what the store will keep:
///  - a transfer without beneficiary goes to `entity` itself;
///  - a transfer without taxonomy takes its service's (issue 3: "taxonomy defaults from the
///    service");
///  - a transfer to `entity` without IBAN, postal IBAN or stamp takes the service's first
///    default IBAN;
///  - fiscal codes, IBANs and the stamp province are upper-cased;
///  - the single option's instalment number is 0; each option's IUV is derived from its notice
///    number when that parses; the position's due date is the latest option due date;
///  - entity_fiscal_code is set to `entity`'s.
/// Idempotent. Leaves anything it cannot make sense of for validate() to report.
void normalize(position& p, const config::entity& entity);

/// Every rule the position breaks, in a stable order (position fields, debtor, metadata, then
/// each option in input order); empty when it may be stored. Call normalize() first.
std::vector<field_error> validate(const position& p, const validation_context& ctx);

}  // namespace pagohub::positions
