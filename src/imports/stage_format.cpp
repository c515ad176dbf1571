#include "stage_format.hpp"

#include <pagohub/core/text.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/validation.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace pagohub::imports::detail {
namespace {

// What a NUL byte becomes in staged text: PostgreSQL refuses U+0000 in text and jsonb alike,
// and one such byte would fail the whole COPY, not just its row. The decoders refuse NUL with
// a row error; this keeps the row and its report whatever reaches here.
constexpr char nul_replacement[] = "\xEF\xBF\xBD";  // U+FFFD, UTF-8

// COPY text format: fields separated by tabs, NULL as \N, and backslash, tab, line feed and
// carriage return escaped with a backslash (PostgreSQL docs, COPY "Text Format").
void append_text(std::string& out, std::string_view s) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const char* esc = nullptr;
    switch (c) {
      case '\0':
        esc = nul_replacement;
        break;
      case '\\':
        esc = "\\\\";
        break;
      case '\t':
        esc = "\\t";
        break;
      case '\n':
        esc = "\\n";
        break;
      case '\r':
        esc = "\\r";
        break;
      default:
        continue;
    }
    out.append(s.data() + start, i - start);
    out.append(esc);
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

void sep(std::string& out) {
  out.push_back('\t');
}

void null(std::string& out) {
  out.append("\\N");
}

void text(std::string& out, std::string_view s) {
  sep(out);
  append_text(out, s);
}

void opt_text(std::string& out, const std::optional<std::string>& s) {
  sep(out);
  if (s) {
    append_text(out, *s);
  } else {
    null(out);
  }
}

void number(std::string& out, std::int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

void num(std::string& out, std::int64_t v) {
  sep(out);
  number(out, v);
}

void nulls(std::string& out, int n) {
  for (int i = 0; i < n; ++i) {
    sep(out);
    null(out);
  }
}

std::string timestamp_text(positions::timestamp t) {
  using namespace std::chrono;
  const auto us = floor<microseconds>(t);
  const auto day = floor<days>(us);
  const year_month_day ymd(day);
  const hh_mm_ss<microseconds> tod(us - day);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld:%02ld.%06ld+00",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long>(tod.hours().count()),
                static_cast<long>(tod.minutes().count()), static_cast<long>(tod.seconds().count()),
                static_cast<long>(tod.subseconds().count()));
  return buf;
}

namespace {
constexpr std::size_t max_message_chars = 1000;
// A path names a member or column the file gave: a megabyte-long member name must not be
// echoed on a report line (the report is stored in pieces of lines, read whole). Real paths
// ("/paymentOptions/12/transfers/4/accounting/49/assessment") are far shorter.
constexpr std::size_t max_path_chars = 100;
// An external id longer than validation accepts (positions::max_external_id_length) is refused
// whatever it holds, and is staged cut to a few characters more, still too long to match a
// stored position, rather than repeated whole on each of its row's report lines.
constexpr std::size_t staged_long_id_chars = positions::max_external_id_length + 5;
}  // namespace

std::string errors_json(const std::vector<positions::field_error>& errors) {
  std::string j = "[";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) j.push_back(',');
    j.append("{\"path\":");
    append_json_string(j, core::utf8_cut(errors[i].path, max_path_chars));
    j.append(",\"code\":");
    append_json_string(j, errors[i].code);
    j.append(",\"message\":");
    // Cut, and made valid UTF-8: a message may quote what it found wrong (a JSON parser quotes
    // the bytes it stopped at), and one invalid byte would fail the whole COPY.
    append_json_string(j, core::utf8_cut(errors[i].message, max_message_chars));
    j.push_back('}');
  }
  j.push_back(']');
  return j;
}

void json_opt(std::string& j, const char* name, const std::optional<std::string>& v) {
  j.append(",\"").append(name).append("\":");
  if (v) {
    append_json_string(j, *v);
  } else {
    j.append("null");
  }
}

// Transfers after the first, and every accounting line, in the column names of the tables.
std::optional<std::string> extra_json(const std::vector<positions::transfer>& transfers) {
  bool any = transfers.size() > 1;
  for (const auto& t : transfers)
    if (!t.accounting.empty()) any = true;
  if (!any) return std::nullopt;
  std::string j = "{\"transfers\":[";
  for (std::size_t i = 1; i < transfers.size(); ++i) {
    const auto& t = transfers[i];
    if (i > 1) j.push_back(',');
    j.append("{\"transfer_index\":");
    number(j, t.index);
    j.append(",\"beneficiary_fiscal_code\":");
    append_json_string(j, t.beneficiary_fiscal_code);
    j.append(",\"amount\":");
    number(j, t.amount);
    json_opt(j, "iban", t.iban);
    json_opt(j, "postal_iban", t.postal_iban);
    json_opt(j, "stamp_document_hash",
             t.stamp ? std::optional<std::string>(t.stamp->document_hash) : std::nullopt);
    json_opt(j, "stamp_type",
             t.stamp ? std::optional<std::string>(t.stamp->stamp_type) : std::nullopt);
    json_opt(j, "stamp_province",
             t.stamp ? std::optional<std::string>(t.stamp->province) : std::nullopt);
    j.append(",\"remittance_information\":");
    append_json_string(j, t.remittance_information);
    j.append(",\"taxonomy\":");
    append_json_string(j, t.taxonomy);
    j.push_back('}');
  }
  j.append("],\"accounting\":[");
  bool first = true;
  for (const auto& t : transfers) {
    for (std::size_t k = 0; k < t.accounting.size(); ++k) {
      const auto& a = t.accounting[k];
      if (!first) j.push_back(',');
      first = false;
      j.append("{\"transfer_index\":");
      number(j, t.index);
      j.append(",\"ordinal\":");
      number(j, static_cast<std::int64_t>(k));
      j.append(",\"chapter\":");
      append_json_string(j, a.chapter);
      j.append(",\"article\":");
      append_json_string(j, a.article);
      j.append(",\"year\":");
      number(j, a.year);
      j.append(",\"assessment\":");
      append_json_string(j, a.assessment);
      j.append(",\"amount\":");
      number(j, a.amount);
      j.push_back('}');
    }
  }
  j.append("]}");
  return j;
}

std::string metadata_json(const std::vector<std::pair<std::string, std::string>>& md) {
  std::string j = "[";
  for (std::size_t i = 0; i < md.size(); ++i) {
    if (i > 0) j.push_back(',');
    j.append("{\"key\":");
    append_json_string(j, md[i].first);
    j.append(",\"value\":");
    append_json_string(j, md[i].second);
    j.push_back('}');
  }
  j.push_back(']');
  return j;
}

// seq, ordinal, line, op, external_id, errors
void row_head(std::string& out, std::int64_t seq, std::size_t ordinal, std::uint32_t line,
              const parsed_position& p, const std::vector<positions::field_error>* errors) {
  number(out, seq);
  num(out, static_cast<std::int64_t>(ordinal));
  num(out, line);
  text(out, p.op == row_op::cancel ? "CANCEL" : "UPSERT");
  const std::string& id = p.pos.external_id;
  text(out, id.size() > positions::max_external_id_length ? core::utf8_cut(id, staged_long_id_chars)
                                                          : id);
  sep(out);
  if (errors && !errors->empty()) {
    append_text(out, errors_json(*errors));
  } else {
    null(out);
  }
}

constexpr int data_columns = 37;  // position_id .. extra

}  // namespace

const std::string& stage_columns() {
  static const std::string cols =
      "seq, ordinal, line, op, external_id, errors, position_id, option_id, notice_progressive, "
      "debtor_type, debtor_fiscal_code, debtor_full_name, debtor_street_name, "
      "debtor_civic_number, debtor_postal_code, debtor_city, debtor_state_province_region, "
      "debtor_country, debtor_email, debtor_phone, description, service_code, reference_year, "
      "validity_date, position_due_date, metadata, kind, instalment, notice_number, amount, "
      "due_date, option_description, t_index, t_beneficiary, t_amount, t_iban, t_postal_iban, "
      "t_stamp_hash, t_stamp_type, t_stamp_province, t_remittance, t_taxonomy, extra";
  return cols;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case 0:
        // "\u0000" is valid JSON that jsonb refuses: the replacement character instead.
        out.append("\\ufffd");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void append_stage_rows(std::string& out, std::int64_t seq, const parsed_position& p,
                       const position_ids* ids) {
  const bool loadable = ids != nullptr && p.op == row_op::upsert && !p.has_errors();
  if (!loadable) {
    // Rows that will not be loaded carry what the report needs: line, external id, errors.
    const std::size_t rows = std::max<std::size_t>(p.errors.size(), 1);
    for (std::size_t i = 0; i < rows; ++i) {
      const std::uint32_t line = i < p.option_lines.size() ? p.option_lines[i] : p.line;
      row_head(out, seq, i, line, p, i < p.errors.size() ? &p.errors[i] : nullptr);
      nulls(out, data_columns);
      out.push_back('\n');
    }
    return;
  }
  const positions::position& pos = p.pos;
  const positions::debtor& d = pos.payer;
  const std::string due = positions::format_date(pos.due_date);
  const std::optional<std::string> validity =
      pos.validity_date ? std::optional<std::string>(timestamp_text(*pos.validity_date))
                        : std::nullopt;
  const std::optional<std::string> metadata =
      pos.metadata.empty() ? std::nullopt : std::optional<std::string>(metadata_json(pos.metadata));
  for (std::size_t i = 0; i < pos.options.size(); ++i) {
    const positions::payment_option& o = pos.options[i];
    row_head(out, seq, i, p.option_lines[i], p, nullptr);
    num(out, ids->position_id);
    num(out, ids->option_ids[i]);
    sep(out);
    if (ids->notice_progressives[i] > 0) {
      number(out, ids->notice_progressives[i]);
    } else {
      null(out);
    }
    text(out, positions::to_string(d.type));
    text(out, d.fiscal_code);
    text(out, d.full_name);
    opt_text(out, d.street_name);
    opt_text(out, d.civic_number);
    opt_text(out, d.postal_code);
    opt_text(out, d.city);
    opt_text(out, d.state_province_region);
    opt_text(out, d.country);
    opt_text(out, d.email);
    opt_text(out, d.phone);
    text(out, pos.description);
    text(out, pos.service_code);
    num(out, pos.reference_year);
    opt_text(out, validity);
    text(out, due);
    opt_text(out, metadata);
    text(out, positions::to_string(o.kind));
    num(out, o.instalment);
    opt_text(out,
             o.notice_number.empty() ? std::nullopt : std::optional<std::string>(o.notice_number));
    num(out, o.amount);
    text(out, positions::format_date(o.due_date));
    text(out, o.description);
    // Transfers in idTransfer order, as the store keeps them: the first in columns, the rest
    // in `extra`.
    const auto by_index = [](const auto& a, const auto& b) { return a.index < b.index; };
    std::vector<positions::transfer> sorted;
    if (!std::is_sorted(o.transfers.begin(), o.transfers.end(), by_index)) {
      sorted = o.transfers;
      std::stable_sort(sorted.begin(), sorted.end(), by_index);
    }
    const std::vector<positions::transfer>& transfers = sorted.empty() ? o.transfers : sorted;
    const positions::transfer& t = transfers.front();
    num(out, t.index);
    text(out, t.beneficiary_fiscal_code);
    num(out, t.amount);
    opt_text(out, t.iban);
    opt_text(out, t.postal_iban);
    opt_text(out, t.stamp ? std::optional<std::string>(t.stamp->document_hash) : std::nullopt);
    opt_text(out, t.stamp ? std::optional<std::string>(t.stamp->stamp_type) : std::nullopt);
    opt_text(out, t.stamp ? std::optional<std::string>(t.stamp->province) : std::nullopt);
    text(out, t.remittance_information);
    text(out, t.taxonomy);
    opt_text(out, extra_json(transfers));
    out.push_back('\n');
  }
}

}  // namespace pagohub::imports::detail
