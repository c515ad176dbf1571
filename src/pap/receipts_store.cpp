// The receipts store: SQL over sql/0010_receipts.sql (pap/receipts.hpp).
#include <pagohub/core/text.hpp>
#include <pagohub/core/utc_time.hpp>
#include <pagohub/db/prepared.hpp>
#include <pagohub/journal/canonical.hpp>
#include <pagohub/pap/receipts.hpp>
#include <pagohub/positions/dates.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>

namespace pagohub::pap {

namespace {

using positions::timestamp;

constexpr std::array<std::pair<anomaly, std::string_view>, 11> anomaly_names{{
    {anomaly::stand_in, "STAND_IN"},
    {anomaly::unknown_position, "UNKNOWN_POSITION"},
    {anomaly::already_paid, "ALREADY_PAID"},
    {anomaly::position_cancelled, "POSITION_CANCELLED"},
    {anomaly::position_expired, "POSITION_EXPIRED"},
    {anomaly::position_not_payable, "POSITION_NOT_PAYABLE"},
    {anomaly::amount_mismatch, "AMOUNT_MISMATCH"},
    {anomaly::transfers_mismatch, "TRANSFERS_MISMATCH"},
    {anomaly::outcome_ko, "OUTCOME_KO"},
    {anomaly::unreadable, "UNREADABLE"},
    {anomaly::position_busy, "POSITION_BUSY"},
}};

std::int64_t micros(timestamp t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

timestamp from_micros(std::int64_t us) {
  return timestamp{std::chrono::microseconds{us}};
}

// Optional values as SQL parameters: libpqxx 6.4 sends an empty std::optional as NULL.
std::optional<std::int64_t> opt_micros(const std::optional<timestamp>& t) {
  return t ? std::optional<std::int64_t>(micros(*t)) : std::nullopt;
}
// Year 0000 parses (the REST API answers it out_of_range rather than malformed), but is no
// date in xsd:date nor in PostgreSQL, which would refuse the row: a receipt carrying one would
// fail its insert on every redelivery. Stored without it; the raw message keeps it.
std::optional<std::string> opt_date(const std::optional<positions::date>& d) {
  if (!d || static_cast<int>(d->year()) < 1) return std::nullopt;
  return positions::format_date(*d);
}

std::optional<std::int64_t> int64(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<std::int64_t>(f.as<std::int64_t>());
}

constexpr std::string_view select_columns =
    "id, entity_fiscal_code, receipt_id, source, "
    "(extract(epoch FROM received_at) * 1000000)::bigint, notice_number, iuv, ccp, outcome, "
    "amount, fee, (extract(epoch FROM payment_date_time) * 1000000)::bigint, "
    "application_date::text, transfer_date::text, psp_id, psp_name, psp_fiscal_code, channel_id, "
    "payment_method, stand_in, details::text, position_id, applied, anomaly, anomaly_detail, "
    // The accounting entries of the option this receipt paid, by transfer index (issue 6: the
    // back-office books a receipt by chapter and assessment). Only the receipt recorded on the
    // option has them: a second receipt for a paid notice paid nothing of it.
    "(SELECT json_object_agg(a.transfer_index, a.entries)::text FROM ("
    "   SELECT e.transfer_index, json_agg(json_build_object('chapter', e.chapter,"
    "       'article', e.article, 'year', e.year, 'assessment', e.assessment,"
    "       'amount', e.amount) ORDER BY e.ordinal) AS entries"
    "   FROM payment_options o JOIN accounting_entries e"
    "     ON e.entity_fiscal_code = o.entity_fiscal_code AND e.option_id = o.id"
    "   WHERE o.entity_fiscal_code = receipts.entity_fiscal_code"
    "     AND o.notice_number = receipts.notice_number"
    // An RT's key is its (IUV, CCP) pair; the option records the CCP alone (old_model.cpp).
    "     AND o.receipt_id = CASE WHEN receipts.source = 'paaInviaRT' THEN receipts.ccp"
    "                        ELSE receipts.receipt_id END COLLATE \"C\""
    "   GROUP BY e.transfer_index) a)";

stored_receipt read_row(const pqxx::row& row) {
  stored_receipt r;
  r.id = row[0].as<std::int64_t>();
  r.entity_fc = row[1].c_str();
  r.receipt_id = row[2].c_str();
  r.source = parse_receipt_source(row[3].c_str());
  r.received_at = from_micros(row[4].as<std::int64_t>());
  r.notice_number = db::optional_text(row[5]);
  r.iuv = db::optional_text(row[6]);
  r.ccp = db::optional_text(row[7]);
  r.outcome = db::optional_text(row[8]);
  r.amount = int64(row[9]);
  r.fee = int64(row[10]);
  if (auto us = int64(row[11])) r.payment_date_time = from_micros(*us);
  if (auto d = db::optional_text(row[12])) r.application_date = positions::parse_date(*d);
  if (auto d = db::optional_text(row[13])) r.transfer_date = positions::parse_date(*d);
  r.psp_id = db::optional_text(row[14]);
  r.psp_name = db::optional_text(row[15]);
  r.psp_fiscal_code = db::optional_text(row[16]);
  r.channel_id = db::optional_text(row[17]);
  r.payment_method = db::optional_text(row[18]);
  r.stand_in = row[19].as<bool>();
  r.details_json = row[20].c_str();
  r.position_id = int64(row[21]);
  r.applied = row[22].as<bool>();
  if (auto a = db::optional_text(row[23])) r.flagged = parse_anomaly(*a);
  r.anomaly_detail = db::optional_text(row[24]);
  if (auto a = db::optional_text(row[25])) r.accounting_json = std::move(*a);
  return r;
}

}  // namespace

std::string receipt_key(std::string_view receipt_id, std::string_view raw) {
  // Characters as PostgreSQL's char_length counts them; malformed UTF-8 cannot be stored.
  const auto characters = core::utf8_length(receipt_id);
  if (characters && *characters >= 1 && *characters <= 35) return std::string(receipt_id);
  return "sha256:" +
         journal::to_hex(journal::sha256(receipt_id.empty() ? raw : receipt_id)).substr(0, 28);
}

std::string rt_receipt_key(std::string_view iuv, std::string_view ccp) {
  const bool plain_iuv = !iuv.empty() && std::all_of(iuv.begin(), iuv.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
  const auto ccp_characters = core::utf8_length(ccp);
  // The dash cannot occur in such an IUV, so the key names one (IUV, CCP) pair.
  if (plain_iuv && ccp_characters && *ccp_characters >= 1 &&
      iuv.size() + 1 + *ccp_characters <= 64) {
    std::string key;
    key.reserve(iuv.size() + 1 + ccp.size());
    key.append(iuv).append(1, '-').append(ccp);
    return key;
  }
  std::string both;
  both.reserve(iuv.size() + 1 + ccp.size());
  both.append(iuv).append(1, '\n').append(ccp);
  return "sha256:" + journal::to_hex(journal::sha256(both)).substr(0, 28);
}

std::string_view to_string(receipt_source s) noexcept {
  switch (s) {
    case receipt_source::pa_send_rt:
      return "paSendRT";
    case receipt_source::pa_send_rt_v2:
      return "paSendRTV2";
    case receipt_source::paa_invia_rt:
      return "paaInviaRT";
  }
  return "paSendRT";
}

receipt_source parse_receipt_source(std::string_view text) noexcept {
  for (const auto s :
       {receipt_source::pa_send_rt, receipt_source::pa_send_rt_v2, receipt_source::paa_invia_rt})
    if (to_string(s) == text) return s;
  return receipt_source::pa_send_rt;
}

std::string_view to_string(anomaly a) noexcept {
  for (const auto& [value, name] : anomaly_names)
    if (value == a) return name;
  return "UNREADABLE";
}

std::optional<anomaly> parse_anomaly(std::string_view text) noexcept {
  for (const auto& [value, name] : anomaly_names)
    if (name == text) return value;
  return std::nullopt;
}

std::string storable(const std::string& s) {
  return core::utf8_length(s) ? s : core::utf8_cut(s, std::string_view::npos);
}

std::optional<std::string> storable(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return storable(*s);
}

std::optional<std::int64_t> insert_receipt(pqxx::transaction_base& w, const receipt_record& r,
                                           const receipt_verdict& verdict) {
  // ON CONFLICT DO NOTHING without a target covers both keys: (entity, receipt_id) and, for
  // RTs, (entity, IUV, CCP). A re-delivery returns no row and changes nothing.
  static constexpr db::statement insert{
      "pap.insert_receipt",
      "INSERT INTO receipts (entity_fiscal_code, receipt_id, source, received_at, request_id, "
      "raw_message, notice_number, iuv, ccp, primary_fiscal_code, outcome, amount, fee, "
      "payment_date_time, application_date, transfer_date, psp_id, psp_name, psp_fiscal_code, "
      "channel_id, payment_method, stand_in, details, position_id, applied, anomaly, "
      "anomaly_detail) "
      "VALUES ($1, $2, $3, 'epoch'::timestamptz + $4 * interval '1 microsecond', $5, $6, $7, $8, "
      "$9, $10, $11, $12, $13, 'epoch'::timestamptz + $14 * interval '1 microsecond', $15::date, "
      "$16::date, $17, $18, $19, $20, $21, $22, $23::jsonb, $24, $25, $26, $27) "
      "ON CONFLICT DO NOTHING RETURNING id"};
  std::optional<std::string> code;
  std::optional<std::string> why;
  if (verdict.flagged) {
    code = std::string(to_string(*verdict.flagged));
    why = core::utf8_cut(verdict.detail, 1000);
  }
  const pqxx::result res = db::exec_prepared(
      w, insert, r.entity_fc, r.receipt_id, std::string(to_string(r.source)), micros(r.received_at),
      r.request_id.empty() ? std::optional<std::string>()
                           : std::optional<std::string>(r.request_id),
      storable(r.raw_message), storable(r.notice_number), storable(r.iuv), storable(r.ccp),
      storable(r.primary_fiscal_code), storable(r.outcome), r.amount, r.fee,
      opt_micros(r.payment_date_time), opt_date(r.application_date), opt_date(r.transfer_date),
      storable(r.psp_id), storable(r.psp_name), storable(r.psp_fiscal_code), storable(r.channel_id),
      storable(r.payment_method), r.stand_in, storable(r.details_json), verdict.position_id,
      verdict.applied, code, why);
  if (res.empty()) return std::nullopt;
  return res[0][0].as<std::int64_t>();
}

std::string receipt_differences(pqxx::transaction_base& w, const receipt_record& r) {
  // The key is (entity, receipt id) for every receipt, and an RT's id is made of its IUV and
  // CCP (rt_receipt_key), so this finds the row the INSERT collided with.
  const pqxx::result res = w.exec_params(
      "SELECT notice_number, amount, outcome, psp_id, "
      "  (extract(epoch FROM payment_date_time) * 1000000)::bigint "
      "FROM receipts WHERE entity_fiscal_code = $1 AND receipt_id = $2",
      r.entity_fc, r.receipt_id);
  if (res.empty()) return {};
  const pqxx::row row = res[0];
  std::string out;
  const auto compare = [&out](const char* name, const std::optional<std::string>& stored,
                              const std::optional<std::string>& received) {
    if (stored == received) return;
    if (!out.empty()) out += "; ";
    out +=
        std::string(name) + " " + stored.value_or("(none)") + " -> " + received.value_or("(none)");
  };
  const auto text = [](const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str());
  };
  const auto number = [](const std::optional<std::int64_t>& v) {
    return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
  };
  compare("noticeNumber", text(row[0]), storable(r.notice_number));
  compare("amount", text(row[1]), number(r.amount));
  compare("outcome", text(row[2]), storable(r.outcome));
  compare("idPSP", text(row[3]), storable(r.psp_id));
  const auto when = [](const std::optional<std::int64_t>& us) {
    return us ? std::optional<std::string>(core::format_utc(from_micros(*us), 6)) : std::nullopt;
  };
  compare("paymentDateTime",
          when(row[4].is_null() ? std::nullopt
                                : std::optional<std::int64_t>(row[4].as<std::int64_t>())),
          when(opt_micros(r.payment_date_time)));
  return out;
}

std::optional<stored_receipt> find_receipt(pqxx::transaction_base& w, std::string_view entity_fc,
                                           std::string_view receipt_id) {
  const pqxx::result res =
      w.exec_params("SELECT " + std::string(select_columns) +
                        " FROM receipts WHERE entity_fiscal_code = $1 AND receipt_id = $2",
                    std::string(entity_fc), std::string(receipt_id));
  if (res.empty()) return std::nullopt;
  return read_row(res[0]);
}

core::result<receipt_page> list_receipts(pqxx::transaction_base& w, std::string_view entity_fc,
                                         std::int64_t position_id,
                                         const std::optional<std::string>& cursor, int limit) {
  if (limit < 1 || limit > 500)
    return core::fail(core::errc::invalid_input, "must be from 1 to 500", "/query/limit");
  std::int64_t after = 0;
  if (cursor) {
    // The cursor is "r" and the last id seen: opaque to callers, stable under inserts.
    const std::string_view c = *cursor;
    const auto [end, ec] = c.size() > 1 && c[0] == 'r'
                               ? std::from_chars(c.data() + 1, c.data() + c.size(), after)
                               : std::from_chars_result{c.data(), std::errc::invalid_argument};
    if (ec != std::errc() || end != c.data() + c.size() || after < 0)
      return core::fail(core::errc::invalid_input, "is not a cursor of this list", "/query/cursor");
  }
  const pqxx::result res = w.exec_params(
      "SELECT " + std::string(select_columns) +
          " FROM receipts WHERE entity_fiscal_code = $1 AND position_id = $2 AND id > $3 "
          "ORDER BY id LIMIT $4",
      std::string(entity_fc), position_id, after, limit + 1);
  receipt_page page;
  for (const auto& row : res) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_cursor = "r" + std::to_string(page.items.back().id);
      break;
    }
    page.items.push_back(read_row(row));
  }
  return page;
}

std::vector<stored_receipt> find_receipts_by_row_ids(pqxx::transaction_base& w,
                                                     std::string_view entity_fc,
                                                     const std::vector<std::int64_t>& ids) {
  std::vector<stored_receipt> out;
  if (ids.empty()) return out;
  // One statement for the whole page: the ids travel as one bigint[] literal.
  std::string array = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) array += ',';
    array += std::to_string(ids[i]);
  }
  array += '}';
  // A join with the unnested ids, not `id = ANY(...)`: on a table that grew faster than its
  // statistics (a back-office's backlog) the planner served `= ANY` by reading every receipt of
  // the entity and filtering (70 ms a page at 100,000 receipts); one primary-key probe per id
  // does not depend on the statistics. Prepared: the delivery runs it for every batch.
  static const std::string sql =
      "SELECT " + std::string(select_columns) +
      " FROM (SELECT DISTINCT unnest($2::bigint[])) AS wanted(row_id)"
      " JOIN receipts ON receipts.entity_fiscal_code = $1 AND receipts.id = wanted.row_id"
      " ORDER BY receipts.id";
  static const db::statement by_row_ids{"pap.receipts_by_row_ids", sql.c_str()};
  const pqxx::result res = db::exec_prepared(w, by_row_ids, std::string(entity_fc), array);
  out.reserve(res.size());
  for (const auto& row : res) out.push_back(read_row(row));
  return out;
}

std::vector<stored_receipt> list_anomalies(pqxx::transaction_base& w, std::string_view entity_fc,
                                           int limit) {
  const pqxx::result res =
      w.exec_params("SELECT " + std::string(select_columns) +
                        " FROM receipts WHERE entity_fiscal_code = $1 AND anomaly IS NOT NULL "
                        "ORDER BY id DESC LIMIT $2",
                    std::string(entity_fc), limit);
  std::vector<stored_receipt> out;
  for (const auto& row : res) out.push_back(read_row(row));
  return out;
}

}  // namespace pagohub::pap
