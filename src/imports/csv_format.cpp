// The CSV dialect of bulk imports: columns, header check, rows to positions
// (docs/api/bulk-csv.md).
#include <pagohub/core/amount.hpp>
#include <pagohub/imports/csv_format.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/validation.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>

namespace pagohub::imports {
namespace {

namespace codes = positions::error_codes;
using positions::field_error;

constexpr std::string_view column_names[] = {"operation",
                                             "externalId",
                                             "debtorType",
                                             "debtorFiscalCode",
                                             "debtorFullName",
                                             "debtorStreetName",
                                             "debtorCivicNumber",
                                             "debtorPostalCode",
                                             "debtorCity",
                                             "debtorStateProvinceRegion",
                                             "debtorCountry",
                                             "debtorEmail",
                                             "debtorPhone",
                                             "description",
                                             "serviceCode",
                                             "referenceYear",
                                             "validityDate",
                                             "optionKind",
                                             "instalment",
                                             "noticeNumber",
                                             "amount",
                                             "dueDate",
                                             "optionDescription"};
static_assert(std::size(column_names) == static_cast<std::size_t>(csv_column::count_));

constexpr std::string_view transfer_field_names[] = {
    "Amount",   "BeneficiaryFiscalCode", "Iban",      "PostalIban",   "RemittanceInformation",
    "Taxonomy", "StampDocumentHash",     "StampType", "StampProvince"};
static_assert(std::size(transfer_field_names) ==
              static_cast<std::size_t>(csv_transfer_field::count_));

// The columns that describe the position rather than the option: on a position's later rows
// they may be left empty, or repeat the first row's value.
constexpr csv_column position_columns[] = {csv_column::operation,
                                           csv_column::debtor_type,
                                           csv_column::debtor_fiscal_code,
                                           csv_column::debtor_full_name,
                                           csv_column::debtor_street_name,
                                           csv_column::debtor_civic_number,
                                           csv_column::debtor_postal_code,
                                           csv_column::debtor_city,
                                           csv_column::debtor_state_province_region,
                                           csv_column::debtor_country,
                                           csv_column::debtor_email,
                                           csv_column::debtor_phone,
                                           csv_column::description,
                                           csv_column::service_code,
                                           csv_column::reference_year,
                                           csv_column::validity_date};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string path_of(csv_column c) {
  return "/" + std::string(csv_column_name(c));
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  std::int64_t v = 0;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (!s.empty() && s.front() == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc{} || p != e || b == e) return std::nullopt;
  return v;
}

// 00:00 of `d` in Europe/Rome, as a UTC instant: 22:00 or 23:00 UTC of the day before,
// depending on whether summer time is in force at that midnight.
positions::timestamp rome_midnight(positions::date d) {
  using namespace std::chrono;
  const sys_time<hours> utc_midnight{sys_days(d)};
  const auto summer = utc_midnight - hours(2);
  if (positions::rome_date(summer) == d) return summer;
  return utc_midnight - hours(1);
}

std::string capitalised(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  while (!p.empty()) {
    if (p.front() == '/') p.remove_prefix(1);
    const auto slash = p.find('/');
    out.push_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash);
  }
  return out;
}

}  // namespace

std::string_view csv_column_name(csv_column c) noexcept {
  const auto i = static_cast<std::size_t>(c);
  return i < std::size(column_names) ? column_names[i] : std::string_view("?");
}

std::string csv_transfer_column_name(int group, csv_transfer_field f) {
  return "transfer" + std::to_string(group) +
         std::string(transfer_field_names[static_cast<std::size_t>(f)]);
}

bool csv_layout::has_group(int group) const noexcept {
  for (int i : transfers_[static_cast<std::size_t>(group - 1)])
    if (i >= 0) return true;
  return false;
}

std::expected<csv_layout, std::vector<field_error>> csv_layout::from_header(
    const std::vector<std::string>& names) {
  csv_layout out;
  out.width_ = names.size();
  out.columns_.fill(-1);
  for (auto& g : out.transfers_) g.fill(-1);
  std::vector<field_error> errors;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const std::string where = "/header/" + (name.empty() ? std::to_string(i + 1) : name);
    int* slot = nullptr;
    for (std::size_t c = 0; c < std::size(column_names) && !slot; ++c) {
      if (iequals(name, column_names[c])) slot = &out.columns_[c];
    }
    for (int g = 1; g <= csv_transfer_groups && !slot; ++g) {
      for (std::size_t f = 0; f < std::size(transfer_field_names) && !slot; ++f) {
        if (iequals(name, csv_transfer_column_name(g, static_cast<csv_transfer_field>(f)))) {
          slot = &out.transfers_[static_cast<std::size_t>(g - 1)][f];
        }
      }
    }
    if (slot == nullptr) {
      std::string why =
          "column " + std::to_string(i + 1) + " \"" + name + "\" is not a known column";
      const std::string l = lower(name);
      if (l.starts_with("transfer") && l.size() > 8 && l[8] >= '6' && l[8] <= '9') {
        why += ": an option has at most 5 transfers (transfer1 .. transfer5, paForNode.xsd)";
      } else if (names.size() == 1 &&
                 (name.find('\t') != std::string::npos || name.find('|') != std::string::npos ||
                  name.find(' ') != std::string::npos)) {
        why += "; the header has a single column: separate the columns with ',' or ';'";
      }
      errors.push_back({where, "unknown", why});
      continue;
    }
    if (*slot >= 0) {
      errors.push_back({where, std::string(codes::duplicate),
                        "column \"" + name + "\" appears twice (columns " +
                            std::to_string(*slot + 1) + " and " + std::to_string(i + 1) + ")"});
      continue;
    }
    *slot = static_cast<int>(i);
  }
  for (csv_column c : csv_required_columns) {
    if (out.index(c) < 0) {
      std::string why =
          "the required column \"" + std::string(csv_column_name(c)) + "\" is missing";
      if (names.size() == 1) why += " (are the columns separated by ',' or ';'?)";
      errors.push_back({"/header", std::string(codes::required), why});
    }
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return out;
}

csv_position_builder::csv_position_builder(const csv_layout& layout, sink emit)
    : layout_(layout), emit_(std::move(emit)) {}

void csv_position_builder::add(const csv_reader::record& r) {
  std::string problem = r.error;
  if (problem.empty() && r.fields.size() != layout_.width()) {
    problem = "the row has " + std::to_string(r.fields.size()) + " fields, the header has " +
              std::to_string(layout_.width());
  }
  if (!problem.empty()) {
    // With the wrong number of fields the external id may still be in its column; after a
    // quoting error nothing in the record can be trusted.
    std::optional<std::string_view> id;
    if (r.error.empty()) {
      const int i = layout_.index(csv_column::external_id);
      if (i >= 0 && static_cast<std::size_t>(i) < r.fields.size())
        id = trim(r.fields[static_cast<std::size_t>(i)]);
    }
    // The position being built may have lost a row to this record (an instalment of its plan):
    // loaded without it, it would be another position than the file's. Unless the record
    // names another position, the one being built is rejected with it, and ends here either
    // way, so that no later row joins it past the gap.
    if (current_ && (!id || *id == current_->pos.external_id)) {
      current_->errors.front().push_back(
          {path_of(csv_column::external_id), std::string(codes::invalid),
           "line " + std::to_string(r.line) +
               ", which may be a row of this position, cannot be read: " + problem});
    }
    flush();
    parsed_position broken;
    broken.line = r.line;
    broken.errors.push_back({{"", std::string(codes::invalid), problem}});
    emit_(std::move(broken));
    after_broken_ = id ? std::string(*id) : std::string();
    broken_line_ = r.line;
    return;
  }
  const auto value = [&](csv_column c) -> std::string_view {
    const int i = layout_.index(c);
    return i < 0 ? std::string_view{} : trim(r.fields[static_cast<std::size_t>(i)]);
  };
  const std::string_view id = value(csv_column::external_id);
  std::size_t bytes = r.fields.size();
  for (const auto& f : r.fields) bytes += f.size();
  if (current_ && !id.empty() && current_->pos.external_id == id) {
    if (current_->option_lines.size() >= positions::max_payment_options) {
      // Rows past what a position may have are not kept (memory stays bounded whatever the
      // file repeats): each is reported on its own, and the position is rejected.
      if (!overflowed_) {
        current_->errors.front().push_back(
            {path_of(csv_column::external_id), std::string(codes::count),
             "more than " + std::to_string(positions::max_payment_options) +
                 " rows (payment options) for this external id, from line " +
                 std::to_string(r.line)});
        overflowed_ = true;
      }
      parsed_position extra;
      extra.line = r.line;
      extra.pos.external_id = std::string(id);
      extra.errors.push_back({{path_of(csv_column::external_id), std::string(codes::count),
                               "external id " + std::string(id) + " already has " +
                                   std::to_string(positions::max_payment_options) +
                                   " rows, from line " + std::to_string(current_->line)}});
      emit_(std::move(extra));
      return;
    }
    add_option(r, false);
    current_->source_bytes += bytes;
    return;
  }
  flush();
  start(r);
  current_->source_bytes = bytes;
  // The broken record may have been this position's first row (its pay-in-full option, say):
  // loaded without it, it would be another position than the file's. Unless the record named
  // another external id, this position is rejected with it.
  if (after_broken_ && (after_broken_->empty() || *after_broken_ == id)) {
    current_->errors.front().push_back(
        {path_of(csv_column::external_id), std::string(codes::invalid),
         "line " + std::to_string(broken_line_) +
             ", just before this position, cannot be read and may be its first row"});
  }
  after_broken_.reset();
}

void csv_position_builder::finish() {
  flush();
}

void csv_position_builder::flush() {
  overflowed_ = false;
  if (!current_) return;
  parsed_position done = std::move(*current_);
  current_.reset();
  emit_(std::move(done));
}

void csv_position_builder::start(const csv_reader::record& r) {
  current_.emplace();
  parsed_position& pp = *current_;
  pp.line = r.line;
  const auto value = [&](csv_column c) -> std::string {
    const int i = layout_.index(c);
    return i < 0 ? std::string() : std::string(trim(r.fields[static_cast<std::size_t>(i)]));
  };
  // Kept for the position's later rows; assign() reuses the strings' buffers from the previous
  // position, so this costs no allocation per position.
  first_values_.resize(std::size(position_columns));
  for (std::size_t k = 0; k < std::size(position_columns); ++k) {
    const int i = layout_.index(position_columns[k]);
    first_values_[k].assign(i < 0 ? std::string_view{}
                                  : trim(r.fields[static_cast<std::size_t>(i)]));
  }
  std::vector<field_error> errors;
  positions::position& p = pp.pos;
  p.external_id = value(csv_column::external_id);
  const std::string op = value(csv_column::operation);
  if (op.empty() || iequals(op, "UPSERT")) {
    pp.op = row_op::upsert;
  } else if (iequals(op, "CANCEL")) {
    pp.op = row_op::cancel;
  } else {
    errors.push_back({path_of(csv_column::operation), std::string(codes::invalid),
                      "must be UPSERT or CANCEL (empty means UPSERT)"});
  }
  pp.errors.push_back(std::move(errors));
  pp.option_lines.push_back(r.line);
  if (pp.op == row_op::cancel) return;  // only the external id counts

  auto& errs = pp.errors.back();
  const std::string type = value(csv_column::debtor_type);
  if (auto t = positions::parse_debtor_type(type)) {
    p.payer.type = *t;
  } else {
    errs.push_back({path_of(csv_column::debtor_type),
                    std::string(type.empty() ? codes::required : codes::invalid),
                    "must be F (a person) or G (a legal person)"});
  }
  p.payer.fiscal_code = value(csv_column::debtor_fiscal_code);
  p.payer.full_name = value(csv_column::debtor_full_name);
  const auto optional = [&](csv_column c) -> std::optional<std::string> {
    std::string v = value(c);
    if (v.empty()) return std::nullopt;
    return v;
  };
  p.payer.street_name = optional(csv_column::debtor_street_name);
  p.payer.civic_number = optional(csv_column::debtor_civic_number);
  p.payer.postal_code = optional(csv_column::debtor_postal_code);
  p.payer.city = optional(csv_column::debtor_city);
  p.payer.state_province_region = optional(csv_column::debtor_state_province_region);
  p.payer.country = optional(csv_column::debtor_country);
  p.payer.email = optional(csv_column::debtor_email);
  p.payer.phone = optional(csv_column::debtor_phone);
  p.description = value(csv_column::description);
  p.service_code = value(csv_column::service_code);
  const std::string year = value(csv_column::reference_year);
  if (!year.empty()) {
    const auto y = parse_integer(year);
    if (!y || *y < 1 || *y > 9999) {
      errs.push_back({path_of(csv_column::reference_year), std::string(codes::invalid),
                      "must be a year such as 2025"});
    } else {
      p.reference_year = static_cast<int>(*y);
    }
  }
  if (const std::string v = value(csv_column::validity_date); !v.empty()) {
    if (const auto d = positions::parse_date(v);
        d && (static_cast<int>(d->year()) < positions::min_year ||
              static_cast<int>(d->year()) > positions::max_year)) {
      // Judged before it becomes an instant: the clock wraps past 2262.
      errs.push_back({path_of(csv_column::validity_date), std::string(codes::out_of_range),
                      "must be in the years " + std::to_string(positions::min_year) + ".." +
                          std::to_string(positions::max_year) + ", like due dates"});
    } else if (d) {
      p.validity_date = rome_midnight(*d);
    } else {
      errs.push_back({path_of(csv_column::validity_date), std::string(codes::invalid),
                      "must be a date, YYYY-MM-DD (payable from 00:00 that day, Europe/Rome)"});
    }
  }
  add_option(r, true);
}

void csv_position_builder::add_option(const csv_reader::record& r, bool first) {
  parsed_position& pp = *current_;
  const auto value = [&](csv_column c) -> std::string {
    const int i = layout_.index(c);
    return i < 0 ? std::string() : std::string(trim(r.fields[static_cast<std::size_t>(i)]));
  };
  if (!first) {
    pp.option_lines.push_back(r.line);
    pp.errors.emplace_back();
  }
  auto& errs = pp.errors.back();
  if (!first) {
    // The position's columns on a later row: empty, or the same as on its first row.
    for (std::size_t k = 0; k < std::size(position_columns); ++k) {
      const std::string v = value(position_columns[k]);
      if (!v.empty() && v != first_values_[k] &&
          !(position_columns[k] == csv_column::operation && iequals(v, first_values_[k]))) {
        errs.push_back({path_of(position_columns[k]), std::string(codes::inconsistent),
                        "differs from line " + std::to_string(pp.line) +
                            ", where this position starts; leave it empty or repeat it"});
      }
    }
    if (pp.op == row_op::cancel) {
      errs.push_back({path_of(csv_column::external_id), std::string(codes::duplicate),
                      "a CANCEL takes one row: this external id already has one on line " +
                          std::to_string(pp.line)});
      return;
    }
  }
  positions::payment_option o;
  const std::string kind = value(csv_column::option_kind);
  const std::string instalment = value(csv_column::instalment);
  if (kind.empty()) {
    o.kind =
        instalment.empty() ? positions::option_kind::single : positions::option_kind::instalment;
  } else if (iequals(kind, "SINGLE")) {
    o.kind = positions::option_kind::single;
  } else if (iequals(kind, "INSTALMENT")) {
    o.kind = positions::option_kind::instalment;
  } else {
    errs.push_back({path_of(csv_column::option_kind), std::string(codes::invalid),
                    "must be SINGLE or INSTALMENT"});
  }
  if (!instalment.empty()) {
    const auto n = parse_integer(instalment);
    if (!n || *n < 0 || *n > 999) {
      errs.push_back({path_of(csv_column::instalment), std::string(codes::invalid),
                      "must be the instalment's number, 1..N"});
    } else {
      o.instalment = static_cast<int>(*n);
    }
  }
  o.notice_number = value(csv_column::notice_number);
  const auto cents = [&](std::string_view text, const std::string& path,
                         bool& ok) -> core::amount_cents {
    ok = false;
    const auto v = parse_integer(text);
    if (!v) {
      errs.push_back({path, std::string(codes::invalid),
                      "must be a whole number of euro cents (12050 for 120.50 euro)"});
      return 0;
    }
    // Bounded as the REST decoder bounds amounts, so that the sums the rules compute cannot
    // overflow.
    if (*v < -core::max_amount_cents || *v > core::max_amount_cents) {
      errs.push_back({path, std::string(codes::out_of_range),
                      "must be between 1 and " + std::to_string(core::max_amount_cents) +
                          " cents (0.01 .. 999999999.99 euro)"});
      return 0;
    }
    ok = true;
    return *v;
  };
  bool amount_ok = false;
  const std::string amount = value(csv_column::amount);
  if (amount.empty()) {
    errs.push_back(
        {path_of(csv_column::amount), std::string(codes::required), "is required (euro cents)"});
  } else {
    o.amount = cents(amount, path_of(csv_column::amount), amount_ok);
  }
  const std::string due = value(csv_column::due_date);
  if (due.empty()) {
    errs.push_back(
        {path_of(csv_column::due_date), std::string(codes::required), "is required (YYYY-MM-DD)"});
  } else if (const auto d = positions::parse_date(due)) {
    o.due_date = *d;
  } else {
    errs.push_back(
        {path_of(csv_column::due_date), std::string(codes::invalid), "must be a date, YYYY-MM-DD"});
  }
  o.description = value(csv_column::option_description);
  if (o.description.empty()) o.description = pp.pos.description;

  std::vector<int> without_amount;  // transfer groups whose amount cell is empty
  for (int g = 1; g <= csv_transfer_groups; ++g) {
    if (!layout_.has_group(g)) continue;
    const auto field = [&](csv_transfer_field f) -> std::string {
      const int i = layout_.index(g, f);
      return i < 0 ? std::string() : std::string(trim(r.fields[static_cast<std::size_t>(i)]));
    };
    bool any = false;
    for (int f = 0; f < static_cast<int>(csv_transfer_field::count_); ++f) {
      if (!field(static_cast<csv_transfer_field>(f)).empty()) any = true;
    }
    if (!any) continue;
    positions::transfer t;
    t.index = g;
    t.beneficiary_fiscal_code = field(csv_transfer_field::beneficiary_fiscal_code);
    const std::string ta = field(csv_transfer_field::amount);
    if (!ta.empty()) {
      bool ok = false;
      t.amount = cents(ta, "/" + csv_transfer_column_name(g, csv_transfer_field::amount), ok);
    } else {
      without_amount.push_back(g);
    }
    if (auto v = field(csv_transfer_field::iban); !v.empty()) t.iban = v;
    if (auto v = field(csv_transfer_field::postal_iban); !v.empty()) t.postal_iban = v;
    const std::string hash = field(csv_transfer_field::stamp_document_hash);
    const std::string stype = field(csv_transfer_field::stamp_type);
    const std::string prov = field(csv_transfer_field::stamp_province);
    if (!hash.empty() || !stype.empty() || !prov.empty()) {
      t.stamp = positions::revenue_stamp{hash, stype, prov};
    }
    t.remittance_information = field(csv_transfer_field::remittance_information);
    if (t.remittance_information.empty()) t.remittance_information = o.description;
    t.taxonomy = field(csv_transfer_field::taxonomy);
    o.transfers.push_back(std::move(t));
  }
  if (o.transfers.empty()) {
    // The common case (docs/api/bulk-csv.md): the whole amount to the entity itself, on the
    // service's default account (normalize() fills beneficiary, IBAN and taxonomy).
    positions::transfer t;
    t.index = 1;
    t.amount = o.amount;
    t.remittance_information = o.description;
    o.transfers.push_back(std::move(t));
  } else if (o.transfers.size() == 1 && !without_amount.empty()) {
    // One transfer without an amount takes the whole option amount.
    if (amount_ok) o.transfers[0].amount = o.amount;
  } else {
    for (int g : without_amount) {
      errs.push_back({"/" + csv_transfer_column_name(g, csv_transfer_field::amount),
                      std::string(codes::required),
                      "is required when the option has several transfers (euro cents)"});
    }
  }
  pp.pos.options.push_back(std::move(o));
}

csv_error_place csv_place_of(std::string_view rest_path, const positions::position& p) {
  const auto parts = split_path(rest_path);
  csv_error_place out;
  if (parts.empty()) return out;
  if (parts[0] == "debtor" && parts.size() >= 2) {
    out.path = "/debtor" + capitalised(parts[1]);
    return out;
  }
  if (parts[0] != "paymentOptions" || parts.size() < 2) {
    out.path = std::string(rest_path);
    return out;
  }
  const auto n = parse_integer(parts[1]);
  if (!n || *n < 0 || static_cast<std::size_t>(*n) >= std::max<std::size_t>(p.options.size(), 1)) {
    out.path = std::string(rest_path);
    return out;
  }
  out.option = static_cast<std::size_t>(*n);
  if (parts.size() == 2) {
    out.path = "";
    return out;
  }
  const std::string_view f = parts[2];
  if (f == "transfers" && parts.size() >= 4) {
    const auto m = parse_integer(parts[3]);
    int group = m ? static_cast<int>(*m) + 1 : 1;
    if (m && out.option < p.options.size() && *m >= 0 &&
        static_cast<std::size_t>(*m) < p.options[out.option].transfers.size()) {
      group = p.options[out.option].transfers[static_cast<std::size_t>(*m)].index;
    }
    std::string col = "/transfer" + std::to_string(group);
    if (parts.size() == 4) return {out.option, col + "Amount"};
    if (parts[4] == "stamp" && parts.size() >= 6) {
      // The stamp's members are documentHash, stampType and province; the columns
      // StampDocumentHash, StampType and StampProvince.
      col += parts[5] == "stampType" ? std::string("StampType") : "Stamp" + capitalised(parts[5]);
    } else {
      col += capitalised(parts[4]);
    }
    out.path = col;
    return out;
  }
  if (f == "kind") {
    out.path = "/optionKind";
  } else if (f == "description") {
    out.path = "/optionDescription";
  } else if (f == "transfers") {
    out.path = "/transfers";
  } else {
    out.path = "/" + std::string(f);
  }
  return out;
}

}  // namespace pagohub::imports
