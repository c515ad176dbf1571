#pragma once
// The debt position (posizione debitoria) as the domain sees it: what a citizen owes one
// creditor entity, the ways to pay it (one option, an instalment plan, or both) and where each
// euro goes (transfers). Protocol shapes (REST JSON, SOAP, CSV) map to and from these structs.
// Each struct compares field by field (==): what a store round trip must preserve.
#include <pagohub/core/amount.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagohub::positions {

using timestamp = std::chrono::system_clock::time_point;  ///< UTC instant
using date = std::chrono::year_month_day;                 ///< a calendar date in Europe/Rome

/// Debtor kind, as pagoPA spells it: F natural person, G legal person (DIGEST §2.3).
enum class debtor_type { person, legal };

struct debtor {
  debtor_type type = debtor_type::person;
  /// Codice fiscale (16 chars), partita IVA (11 digits) or "ANONIMO" for anonymous debtors.
  std::string fiscal_code;
  std::string full_name;  ///< 1..70
  std::optional<std::string> street_name;
  std::optional<std::string> civic_number;
  std::optional<std::string> postal_code;
  std::optional<std::string> city;
  std::optional<std::string> state_province_region;
  std::optional<std::string> country;  ///< ISO 3166-1 alpha-2
  std::optional<std::string> email;
  std::optional<std::string> phone;

  friend bool operator==(const debtor&, const debtor&) = default;
};

/// A line of the accounting plan (rendicontatore contabile): which budget chapter and
/// assessment (accertamento) a share of the transfer belongs to.
struct accounting_entry {
  std::string chapter;     ///< capitolo
  std::string article;     ///< articolo (may be empty)
  int year = 0;            ///< esercizio
  std::string assessment;  ///< numero di accertamento (may be empty)
  core::amount_cents amount = 0;

  friend bool operator==(const accounting_entry&, const accounting_entry&) = default;
};

/// Digital revenue stamp (marca da bollo digitale) instead of an IBAN (paGetPaymentV2).
struct revenue_stamp {
  std::string document_hash;  ///< base64 SHA-256 of the document, 44 chars
  std::string stamp_type;     ///< 2 chars
  std::string province;       ///< province of residence, 2 letters

  friend bool operator==(const revenue_stamp&, const revenue_stamp&) = default;
};

struct transfer {
  int index = 1;  ///< 1..5, the idTransfer of the SOAP messages
  /// The entity receiving this share; another entity's code for multi-beneficiary positions.
  std::string beneficiary_fiscal_code;
  core::amount_cents amount = 0;
  std::optional<std::string> iban;         ///< ordinary account
  std::optional<std::string> postal_iban;  ///< postal account (transferType=POSTAL)
  std::optional<revenue_stamp> stamp;      ///< exclusive with the IBANs
  std::string remittance_information;      ///< causale of the transfer, 1..140
  std::string taxonomy;                    ///< "9/…/" category (DIGEST §5)
  std::vector<accounting_entry> accounting;

  friend bool operator==(const transfer&, const transfer&) = default;
};

enum class option_kind { single, instalment };
enum class option_status { unpaid, paid, reported };

struct payment_option {
  option_kind kind = option_kind::single;
  int instalment = 0;         ///< 1..N for instalments, 0 for the single option
  std::string notice_number;  ///< 18 digits; assigned by the store when empty on input
  std::string iuv;            ///< derived from the notice number
  core::amount_cents amount = 0;
  date due_date{};
  std::string description;  ///< 1..140
  option_status status = option_status::unpaid;
  std::optional<timestamp> paid_at;
  std::optional<std::string> receipt_id;
  std::vector<transfer> transfers;  ///< 1..5

  friend bool operator==(const payment_option&, const payment_option&) = default;
};

/// Lifecycle (learned from GPD, DIGEST §4). Paid positions never change again.
enum class position_status {
  draft,           ///< loaded, not payable
  published,       ///< published, waiting for its validity date
  valid,           ///< payable
  partially_paid,  ///< some instalments paid
  paid,
  expired,    ///< past the due date, when the service says so
  cancelled,  ///< invalidated by the entity
};

struct position {
  std::int64_t id = 0;  ///< store's own key
  std::string entity_fiscal_code;
  std::string application_id;  ///< the back-office application that owns it
  std::string external_id;     ///< unique per (entity, application); the BO's key
  debtor payer;
  std::string description;  ///< causale, 1..140
  std::string service_code;
  int reference_year = 0;
  std::optional<timestamp> validity_date;  ///< payable from; none = as soon as published
  date due_date{};                         ///< the latest due date among the options
  std::vector<std::pair<std::string, std::string>> metadata;  ///< up to 10
  position_status status = position_status::draft;
  std::vector<payment_option> options;
  timestamp created_at{};
  timestamp updated_at{};
  std::optional<timestamp> published_at;
  std::int64_t version = 0;  ///< bumped by every change; ETag material

  friend bool operator==(const position&, const position&) = default;
};

/// The debtor fiscal code of an anonymous debtor (GPD convention).
inline constexpr std::string_view anonymous_debtor = "ANONIMO";

/// "DRAFT", "PUBLISHED", "VALID", "PARTIALLY_PAID", "PAID", "EXPIRED", "CANCELLED".
std::string_view to_string(position_status s) noexcept;
/// The inverse of to_string(position_status); exact, uppercase spelling only.
std::optional<position_status> parse_position_status(std::string_view s) noexcept;
/// "UNPAID", "PAID", "REPORTED".
std::string_view to_string(option_status s) noexcept;
/// The inverse of to_string(option_status).
std::optional<option_status> parse_option_status(std::string_view s) noexcept;
std::string_view to_string(debtor_type t) noexcept;  ///< "F" / "G"
/// "F" -> person, "G" -> legal; anything else -> nullopt.
std::optional<debtor_type> parse_debtor_type(std::string_view s) noexcept;
/// "SINGLE" / "INSTALMENT", the `kind` of a payment option in the REST body.
std::string_view to_string(option_kind k) noexcept;
/// The inverse of to_string(option_kind).
std::optional<option_kind> parse_option_kind(std::string_view s) noexcept;

}  // namespace pagohub::positions
