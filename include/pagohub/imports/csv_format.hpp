#pragma once
// The CSV dialect of bulk imports (docs/api/bulk-csv.md): the columns, the header check, and
// the grouping of rows into positions. One row per payment option (the single option, or one
// instalment); the consecutive rows with the same externalId are one position; transfers are
// column groups transfer1..transfer5 on the option's row, and a row without any is paid in
// full to the entity on the service's default account.
#include <pagohub/imports/csv_reader.hpp>
#include <pagohub/imports/model.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::imports {

/// The columns of a position and of its option, in documentation order.
enum class csv_column : int {
  operation,
  external_id,
  debtor_type,
  debtor_fiscal_code,
  debtor_full_name,
  debtor_street_name,
  debtor_civic_number,
  debtor_postal_code,
  debtor_city,
  debtor_state_province_region,
  debtor_country,
  debtor_email,
  debtor_phone,
  description,
  service_code,
  reference_year,
  validity_date,
  option_kind,
  instalment,
  notice_number,
  amount,
  due_date,
  option_description,
  count_  ///< not a column
};

/// The fields of a transfer column group ("transfer2Iban" = group 2, field iban).
enum class csv_transfer_field : int {
  amount,
  beneficiary_fiscal_code,
  iban,
  postal_iban,
  remittance_information,
  taxonomy,
  stamp_document_hash,
  stamp_type,
  stamp_province,
  count_  ///< not a field
};

/// Transfer column groups: transfer1..transfer5 (paForNode.xsd: at most 5 transfers).
inline constexpr int csv_transfer_groups = 5;

/// The header name of a column ("externalId") and of a transfer field ("transfer3Iban").
std::string_view csv_column_name(csv_column c) noexcept;
std::string csv_transfer_column_name(int group, csv_transfer_field f);

/// The columns a header must have (their values may still be empty on CANCEL rows).
inline constexpr csv_column csv_required_columns[] = {
    csv_column::external_id,      csv_column::debtor_type, csv_column::debtor_fiscal_code,
    csv_column::debtor_full_name, csv_column::description, csv_column::service_code,
    csv_column::reference_year,   csv_column::amount,      csv_column::due_date};

/// Where each known column is in the file's header.
class csv_layout {
 public:
  /// Maps a header (names compared without regard to ASCII case). Every problem is reported:
  /// unknown, repeated and missing columns, with paths "/header/<name>" (or "/header" for a
  /// missing one) and codes "unknown", "duplicate", "required".
  static std::expected<csv_layout, std::vector<positions::field_error>> from_header(
      const std::vector<std::string>& names);

  /// Columns in the header.
  std::size_t width() const noexcept { return width_; }
  /// The field index of `c` in a record, or -1 when the header lacks it.
  int index(csv_column c) const noexcept { return columns_[static_cast<std::size_t>(c)]; }
  int index(int group, csv_transfer_field f) const noexcept {
    return transfers_[static_cast<std::size_t>(group - 1)][static_cast<std::size_t>(f)];
  }
  /// True when the header has any column of transfer group `group` (1..5).
  bool has_group(int group) const noexcept;

 private:
  std::size_t width_ = 0;
  std::array<int, static_cast<std::size_t>(csv_column::count_)> columns_{};
  std::array<std::array<int, static_cast<std::size_t>(csv_transfer_field::count_)>,
             csv_transfer_groups>
      transfers_{};
};

/// Turns CSV records into positions: consecutive records with the same externalId are one
/// position, each record one of its options. Values are trimmed of spaces and tabs; type errors
/// (an amount that is not a whole number of cents, a malformed date) are recorded as errors of
/// the record's row with the column as path ("/amount"). The positions are not judged here
/// (see judge()). Memory: one position at a time.
class csv_position_builder {
 public:
  using sink = std::function<void(parsed_position&&)>;
  csv_position_builder(const csv_layout& layout, sink emit);

  /// Adds a record; emits the previous position when this one starts another. A broken record
  /// (csv_reader's error, a wrong field count) is emitted as a position of its own with the
  /// problem, after the position being built, which it ends (and rejects, unless the record
  /// names another external id), and so is the position that starts next when the record may
  /// have been its first row (it names that position's external id, or none can be read). Rows
  /// past positions::max_payment_options for one external id
  /// are emitted one by one as rejected, and reject the position.
  void add(const csv_reader::record& r);
  /// Emits the last position. Call once at the end.
  void finish();

 private:
  void start(const csv_reader::record& r);
  void add_option(const csv_reader::record& r, bool first);
  void flush();

  const csv_layout& layout_;
  sink emit_;
  std::optional<parsed_position> current_;
  std::vector<std::string> first_values_;  ///< the position's columns on its first row
  bool overflowed_ = false;  ///< the position being built got more rows than it may have
  /// The last record was broken: the position that starts next may have lost its first row to
  /// it. Set to that record's external id when it could be read, to "" when it could not.
  std::optional<std::string> after_broken_;
  std::uint32_t broken_line_ = 0;
};

/// A REST path of a position ("/paymentOptions/1/transfers/0/iban") as the CSV row it concerns
/// and the column path there ("/transfer1Iban"); paths that name no column are kept as they are.
struct csv_error_place {
  std::size_t option = 0;
  std::string path;
};
csv_error_place csv_place_of(std::string_view rest_path, const positions::position& p);

}  // namespace pagohub::imports
