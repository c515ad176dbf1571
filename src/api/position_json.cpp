#include "position_json.hpp"

#include <pagohub/core/utc_time.hpp>
#include <pagohub/positions/validation.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <initializer_list>
#include <limits>

namespace pagohub::api {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
namespace pos = positions;

namespace {

std::string type_word(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a decimal number";
    default:
      return "an unsupported value";
  }
}

// Reads the members of one JSON object, recording every problem with its path instead of
// stopping at the first: a back-office fixes all of them in one go.
class object_reader {
 public:
  object_reader(const json& obj, std::string path, error_list& errors,
                std::initializer_list<std::string_view> allowed,
                std::initializer_list<std::string_view> read_only = {})
      : obj_(obj), path_(std::move(path)), errors_(errors) {
    for (const auto& [name, value] : obj_.items()) {
      if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
      if (std::find(read_only.begin(), read_only.end(), name) != read_only.end()) {
        error(name, "read_only", "is set by pagohub and may not be sent");
      } else {
        error(name, "unknown_member", "is not a member of this object");
      }
    }
  }

  std::string path(std::string_view name) const { return path_ + "/" + json_pointer_token(name); }

  void error(std::string_view name, std::string code, std::string message) const {
    errors_.add(path(name), std::move(code), std::move(message));
  }

  // The member, or nullptr when absent or null (null reads as absent for optional members).
  const json* find(std::string_view name, bool required) const {
    const auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) {
      if (required) error(name, "required", "is required");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> string(std::string_view name, bool required) const {
    const json* v = find(name, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      error(name, "type", "must be a string, not " + type_word(*v));
      return std::nullopt;
    }
    return v->get<std::string>();
  }

  // An integer: a JSON number without fraction or exponent. 12.00 is refused too, because a
  // decimal here nearly always means euros were sent where cents are due.
  std::optional<std::int64_t> integer(std::string_view name, bool required, std::int64_t min,
                                      std::int64_t max, std::string_view unit = {}) const {
    const json* v = find(name, required);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_float()) {
      error(name, "type",
            unit.empty()
                ? "must be an integer, not a decimal number"
                : "must be an integer number of " + std::string(unit) + ", not a decimal number");
      return std::nullopt;
    }
    if (!v->is_number_integer()) {
      error(name, "type", "must be an integer, not " + type_word(*v));
      return std::nullopt;
    }
    if (v->is_number_unsigned() &&
        v->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      error(name, "range", "is out of range");
      return std::nullopt;
    }
    const auto n = v->get<std::int64_t>();
    if (n < min || n > max) {
      error(name, "range",
            "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return n;
  }

  const json* object(std::string_view name, bool required) const {
    const json* v = find(name, required);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) {
      error(name, "type", "must be an object, not " + type_word(*v));
      return nullptr;
    }
    return v;
  }

  const json* array(std::string_view name, bool required) const {
    const json* v = find(name, required);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) {
      error(name, "type", "must be an array, not " + type_word(*v));
      return nullptr;
    }
    return v;
  }

 private:
  const json& obj_;
  std::string path_;
  error_list& errors_;
};

// Amounts are int64 cents; anything above pagoPA's ceiling is refused here, so the sums the
// positions module computes cannot overflow.
constexpr std::int64_t max_cents = core::max_amount_cents;
constexpr std::int64_t int_max = std::numeric_limits<int>::max();

bool require_object(const json& v, const std::string& path, error_list& errs) {
  if (v.is_object()) return true;
  errs.add(path, "type", "must be an object, not " + type_word(v));
  return false;
}

// An array longer than its limit is refused with one error on the array itself, before any
// element is read: a 1 MB body of 300,000 empty options would otherwise cost five errors each.
// The limits are the positions module's (validation.hpp), which judges the same counts again.
bool within_limit(const json& list, const std::string& path, std::size_t max,
                  std::string_view items, error_list& errs) {
  if (list.size() <= max) return true;
  errs.add(path, "count",
           "has " + std::to_string(list.size()) + " " + std::string(items) + ", at most " +
               std::to_string(max) + " allowed");
  return false;
}

pos::debtor read_debtor(const json& v, const std::string& path, error_list& errs) {
  pos::debtor d;
  const object_reader r(v, path, errs,
                        {"type", "fiscalCode", "fullName", "streetName", "civicNumber",
                         "postalCode", "city", "stateProvinceRegion", "country", "email", "phone"});
  if (auto type = r.string("type", true)) {
    if (auto t = pos::parse_debtor_type(*type)) {
      d.type = *t;
    } else {
      r.error("type", "enum", "must be \"F\" (natural person) or \"G\" (legal person)");
    }
  }
  d.fiscal_code = r.string("fiscalCode", true).value_or("");
  d.full_name = r.string("fullName", true).value_or("");
  d.street_name = r.string("streetName", false);
  d.civic_number = r.string("civicNumber", false);
  d.postal_code = r.string("postalCode", false);
  d.city = r.string("city", false);
  d.state_province_region = r.string("stateProvinceRegion", false);
  d.country = r.string("country", false);
  d.email = r.string("email", false);
  d.phone = r.string("phone", false);
  return d;
}

pos::accounting_entry read_accounting(const json& v, const std::string& path, error_list& errs) {
  pos::accounting_entry a;
  const object_reader r(v, path, errs, {"chapter", "article", "year", "assessment", "amount"});
  a.chapter = r.string("chapter", true).value_or("");
  a.article = r.string("article", false).value_or("");
  a.year = static_cast<int>(r.integer("year", true, -int_max, int_max).value_or(0));
  a.assessment = r.string("assessment", false).value_or("");
  a.amount = r.integer("amount", true, -max_cents, max_cents, "cents").value_or(0);
  return a;
}

pos::transfer read_transfer(const json& v, const std::string& path, error_list& errs) {
  pos::transfer t;
  const object_reader r(v, path, errs,
                        {"index", "beneficiaryFiscalCode", "amount", "iban", "postalIban", "stamp",
                         "remittanceInformation", "taxonomy", "accounting"});
  t.index = static_cast<int>(r.integer("index", true, -int_max, int_max).value_or(0));
  t.beneficiary_fiscal_code = r.string("beneficiaryFiscalCode", false).value_or("");
  t.amount = r.integer("amount", true, -max_cents, max_cents, "cents").value_or(0);
  t.iban = r.string("iban", false);
  t.postal_iban = r.string("postalIban", false);
  if (const json* s = r.object("stamp", false)) {
    const object_reader sr(*s, r.path("stamp"), errs, {"documentHash", "stampType", "province"});
    pos::revenue_stamp stamp;
    stamp.document_hash = sr.string("documentHash", true).value_or("");
    stamp.stamp_type = sr.string("stampType", true).value_or("");
    stamp.province = sr.string("province", true).value_or("");
    t.stamp = std::move(stamp);
  }
  t.remittance_information = r.string("remittanceInformation", true).value_or("");
  t.taxonomy = r.string("taxonomy", false).value_or("");
  if (const json* list = r.array("accounting", false);
      list != nullptr &&
      within_limit(*list, r.path("accounting"), pos::max_accounting_entries, "entries", errs)) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string p = r.path("accounting") + "/" + std::to_string(i);
      if (require_object((*list)[i], p, errs)) {
        t.accounting.push_back(read_accounting((*list)[i], p, errs));
      }
    }
  }
  return t;
}

pos::payment_option read_option(const json& v, const std::string& path, error_list& errs) {
  pos::payment_option o;
  const object_reader r(
      v, path, errs,
      {"kind", "instalment", "noticeNumber", "amount", "dueDate", "description", "transfers"},
      {"iuv", "status", "paidAt", "receiptId"});
  if (auto kind = r.string("kind", true)) {
    if (auto k = pos::parse_option_kind(*kind)) {
      o.kind = *k;
    } else {
      r.error("kind", "enum", "must be \"SINGLE\" or \"INSTALMENT\"");
    }
  }
  o.instalment = static_cast<int>(r.integer("instalment", false, -int_max, int_max).value_or(0));
  o.notice_number = r.string("noticeNumber", false).value_or("");
  o.amount = r.integer("amount", true, -max_cents, max_cents, "cents").value_or(0);
  if (auto due = r.string("dueDate", true)) {
    if (auto d = pos::parse_date(*due)) {
      o.due_date = *d;
    } else {
      r.error("dueDate", "format", "must be a date written YYYY-MM-DD");
    }
  }
  o.description = r.string("description", true).value_or("");
  if (const json* list = r.array("transfers", true);
      list != nullptr &&
      within_limit(*list, r.path("transfers"), pos::max_transfers, "transfers", errs)) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string p = r.path("transfers") + "/" + std::to_string(i);
      if (require_object((*list)[i], p, errs)) {
        o.transfers.push_back(read_transfer((*list)[i], p, errs));
      }
    }
  }
  return o;
}

}  // namespace

std::expected<pos::position, json_problem> decode_position_document(const json& doc,
                                                                    const std::string& base) {
  error_list errs;
  if (!require_object(doc, base, errs)) return std::unexpected(json_problem{false, errs.take()});
  pos::position p;
  const object_reader r(doc, base, errs,
                        {"externalId", "debtor", "description", "serviceCode", "referenceYear",
                         "validityDate", "metadata", "paymentOptions"},
                        {"status", "createdAt", "updatedAt", "publishedAt", "version", "dueDate",
                         "entityFiscalCode"});
  p.external_id = r.string("externalId", false).value_or("");
  if (const json* d = r.object("debtor", true)) p.payer = read_debtor(*d, r.path("debtor"), errs);
  p.description = r.string("description", true).value_or("");
  p.service_code = r.string("serviceCode", true).value_or("");
  p.reference_year =
      static_cast<int>(r.integer("referenceYear", true, -int_max, int_max).value_or(0));
  if (auto validity = r.string("validityDate", false)) {
    // The year is judged before the text becomes an instant: past 2262 a nanosecond clock
    // wraps, and 9999-12-31 would become a date in 1816, payable at once.
    const auto day = pos::parse_date(std::string_view(*validity).substr(0, 10));
    if (day && (static_cast<int>(day->year()) < pos::min_year ||
                static_cast<int>(day->year()) > pos::max_year)) {
      r.error("validityDate", "out_of_range",
              "must be in the years " + std::to_string(pos::min_year) + ".." +
                  std::to_string(pos::max_year) + ", like due dates");
    } else if (auto t = parse_timestamp(*validity)) {
      p.validity_date = *t;
    } else {
      r.error("validityDate", "format",
              "must be an RFC 3339 UTC timestamp such as 2025-01-31T09:30:00Z");
    }
  }
  if (const json* list = r.array("metadata", false);
      list != nullptr &&
      within_limit(*list, r.path("metadata"), pos::max_metadata, "pairs", errs)) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = r.path("metadata") + "/" + std::to_string(i);
      if (!require_object((*list)[i], path, errs)) continue;
      const object_reader mr((*list)[i], path, errs, {"key", "value"});
      auto key = mr.string("key", true);
      auto value = mr.string("value", true);
      p.metadata.emplace_back(key.value_or(""), value.value_or(""));
    }
  }
  if (const json* list = r.array("paymentOptions", true);
      list != nullptr &&
      within_limit(*list, r.path("paymentOptions"), pos::max_payment_options, "options", errs)) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = r.path("paymentOptions") + "/" + std::to_string(i);
      if (require_object((*list)[i], path, errs)) {
        p.options.push_back(read_option((*list)[i], path, errs));
      }
    }
  }
  if (!errs.empty()) return std::unexpected(json_problem{false, errs.take()});
  return p;
}

std::expected<pos::position, json_problem> decode_position(std::string_view body) {
  auto doc = parse_strict_json(body);
  if (!doc) return std::unexpected(std::move(doc).error());
  return decode_position_document(*doc, "");
}

// --- encoding ---------------------------------------------------------------------------

namespace {

ojson optional_string(const std::optional<std::string>& s) {
  return s ? ojson(*s) : ojson(nullptr);
}

ojson optional_time(const std::optional<pos::timestamp>& t) {
  return t ? ojson(format_timestamp(*t)) : ojson(nullptr);
}

ojson encode_transfer(const pos::transfer& t) {
  ojson j;
  j["index"] = t.index;
  j["beneficiaryFiscalCode"] = t.beneficiary_fiscal_code;
  j["amount"] = t.amount;
  j["iban"] = optional_string(t.iban);
  j["postalIban"] = optional_string(t.postal_iban);
  if (t.stamp) {
    j["stamp"] = {{"documentHash", t.stamp->document_hash},
                  {"stampType", t.stamp->stamp_type},
                  {"province", t.stamp->province}};
  } else {
    j["stamp"] = nullptr;
  }
  j["remittanceInformation"] = t.remittance_information;
  j["taxonomy"] = t.taxonomy;
  auto& acc = j["accounting"] = ojson::array();
  for (const auto& a : t.accounting) {
    ojson e;
    e["chapter"] = a.chapter;
    e["article"] = a.article.empty() ? ojson(nullptr) : ojson(a.article);
    e["year"] = a.year;
    e["assessment"] = a.assessment.empty() ? ojson(nullptr) : ojson(a.assessment);
    e["amount"] = a.amount;
    acc.push_back(std::move(e));
  }
  return j;
}

ojson encode_option(const pos::payment_option& o) {
  ojson j;
  j["kind"] = pos::to_string(o.kind);
  j["instalment"] = o.kind == pos::option_kind::instalment ? ojson(o.instalment) : ojson(nullptr);
  j["noticeNumber"] = o.notice_number;
  j["iuv"] = o.iuv;
  j["amount"] = o.amount;
  j["dueDate"] = pos::format_date(o.due_date);
  j["description"] = o.description;
  j["status"] = pos::to_string(o.status);
  j["paidAt"] = optional_time(o.paid_at);
  j["receiptId"] = optional_string(o.receipt_id);
  auto& transfers = j["transfers"] = ojson::array();
  for (const auto& t : o.transfers) transfers.push_back(encode_transfer(t));
  return j;
}

ojson encode_position_fields(const pos::position& p, bool with_options) {
  ojson j;
  j["externalId"] = p.external_id;
  j["entityFiscalCode"] = p.entity_fiscal_code;
  j["status"] = pos::to_string(p.status);
  ojson d;
  d["type"] = pos::to_string(p.payer.type);
  d["fiscalCode"] = p.payer.fiscal_code;
  d["fullName"] = p.payer.full_name;
  d["streetName"] = optional_string(p.payer.street_name);
  d["civicNumber"] = optional_string(p.payer.civic_number);
  d["postalCode"] = optional_string(p.payer.postal_code);
  d["city"] = optional_string(p.payer.city);
  d["stateProvinceRegion"] = optional_string(p.payer.state_province_region);
  d["country"] = optional_string(p.payer.country);
  d["email"] = optional_string(p.payer.email);
  d["phone"] = optional_string(p.payer.phone);
  j["debtor"] = std::move(d);
  j["description"] = p.description;
  j["serviceCode"] = p.service_code;
  j["referenceYear"] = p.reference_year;
  j["validityDate"] = optional_time(p.validity_date);
  j["dueDate"] = pos::format_date(p.due_date);
  auto& meta = j["metadata"] = ojson::array();
  for (const auto& [k, v] : p.metadata) meta.push_back({{"key", k}, {"value", v}});
  if (with_options) {
    auto& options = j["paymentOptions"] = ojson::array();
    for (const auto& o : p.options) options.push_back(encode_option(o));
  }
  j["createdAt"] = format_timestamp(p.created_at);
  j["updatedAt"] = format_timestamp(p.updated_at);
  j["publishedAt"] = optional_time(p.published_at);
  j["version"] = p.version;
  return j;
}

}  // namespace

ojson encode_position(const pos::position& p) {
  return encode_position_fields(p, true);
}

ojson encode_notice(const pos::position& p, std::size_t option_index) {
  ojson j;
  j["noticeNumber"] = p.options.at(option_index).notice_number;
  j["paymentOption"] = encode_option(p.options.at(option_index));
  j["position"] = encode_position_fields(p, true);
  return j;
}

// --- dates and times ----------------------------------------------------------------------

namespace {

bool digits(std::string_view s, std::size_t from, std::size_t count) {
  if (from + count > s.size()) return false;
  for (std::size_t i = from; i < from + count; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

int number(std::string_view s, std::size_t from, std::size_t count) {
  int n = 0;
  for (std::size_t i = from; i < from + count; ++i) n = n * 10 + (s[i] - '0');
  return n;
}

}  // namespace

std::string format_timestamp(pos::timestamp t) {
  return core::format_utc(t, 6);
}

std::optional<pos::timestamp> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+00:00|-00:00); RFC 3339 §5.6 allows a lowercase t and z.
  if (s.size() < 20 || !pos::parse_date(s.substr(0, 10)) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2)) {
    return std::nullopt;
  }
  const int hh = number(s, 11, 2);
  const int mm = number(s, 14, 2);
  const int ss = number(s, 17, 2);
  // Leap seconds (ss = 60) have no system_clock instant: refused.
  if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  std::size_t i = 19;
  nanoseconds fraction{0};
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t n = 0;
    std::int64_t value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++n > 9) return std::nullopt;
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    if (n == 0) return std::nullopt;
    for (std::size_t k = n; k < 9; ++k) value *= 10;
    fraction = nanoseconds(value);
  }
  const std::string_view zone = s.substr(i);
  if (zone != "Z" && zone != "z" && zone != "+00:00" && zone != "-00:00") return std::nullopt;
  const auto date = *pos::parse_date(s.substr(0, 10));
  // system_clock counts nanoseconds: instants past 2262 or before 1677 wrap around.
  const int year = static_cast<int>(date.year());
  if (year < min_timestamp_year || year > max_timestamp_year) return std::nullopt;
  const sys_days day(date);
  const auto t = day + hours(hh) + minutes(mm) + seconds(ss) + fraction;
  return time_point_cast<system_clock::duration>(t);
}

}  // namespace pagohub::api
