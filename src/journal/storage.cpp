#include "storage.hpp"

#include <pagohub/core/notice_number.hpp>
#include <pagohub/core/text.hpp>
#include <pagohub/core/utc_time.hpp>
#include <pagohub/db/prepared.hpp>
#include <pagohub/db/sql_time.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <chrono>

namespace pagohub::journal::detail {

// PostgreSQL text refuses both NUL and invalid sequences, and an event must never make its
// transaction fail for that.
std::string cut(std::string_view s, std::size_t max_chars) {
  return core::utf8_cut(s, max_chars);
}

namespace {

std::optional<std::string> optional_text(std::string_view s, std::size_t max_chars) {
  if (s.empty()) return std::nullopt;
  return cut(s, max_chars);
}

std::string required_text(std::string_view s, std::size_t max_chars, std::string_view fallback) {
  return cut(s.empty() ? fallback : s, max_chars);
}

bool is_notice_number(std::string_view s) {
  return s.size() == 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool known_actor_kind(std::string_view k) {
  static constexpr std::string_view kinds[] = {"system", "application", "operator", "admin",
                                               "nodo",   "citizen",     "job"};
  return std::find(std::begin(kinds), std::end(kinds), k) != std::end(kinds);
}

constexpr std::size_t sanp_length = 35;  // DIGEST §7: most SANP fields are 35 characters

constexpr std::array<const char*, 26> event_columns = {
    "id",          "event_time",    "entity_fc",     "iuv",
    "ccp",         "psp_id",        "payment_type",  "component",
    "category",    "event_type",    "event_subtype", "caller_id",
    "provider_id", "station_id",    "channel_id",    "interface_params",
    "outcome",     "request_id",    "notice_number", "actor_kind",
    "actor_id",    "duration_ms",   "http_status",   "fault_code",
    "interface",   "payload_sha256"};

// The row's values as text in event_columns order (after the id), NULL as nullopt.
std::vector<std::optional<std::string>> row_values(const stored_event& r) {
  const auto num = [](const std::optional<std::int64_t>& v) -> std::optional<std::string> {
    if (!v) return std::nullopt;
    return std::to_string(*v);
  };
  std::vector<std::optional<std::string>> v;
  v.reserve(event_columns.size() - 1);
  v.emplace_back(timestamptz_literal(r.time_us));
  v.push_back(r.entity_fc);
  v.push_back(r.iuv);
  v.push_back(r.ccp);
  v.push_back(r.psp_id);
  v.push_back(r.payment_type);
  v.emplace_back(r.component);
  v.emplace_back(r.category);
  v.emplace_back(r.event_type);
  v.emplace_back(r.event_subtype);
  v.emplace_back(r.caller_id);
  v.emplace_back(r.provider_id);
  v.push_back(r.station_id);
  v.push_back(r.channel_id);
  v.push_back(r.interface_params);
  v.push_back(r.outcome);
  v.push_back(r.request_id);
  v.push_back(r.notice_number);
  v.emplace_back(r.actor_kind);
  v.emplace_back(r.actor_id);
  v.push_back(num(r.duration_ms));
  v.push_back(num(r.http_status));
  v.push_back(r.fault_code);
  v.emplace_back(r.interface);
  if (r.payload_sha256) {
    v.emplace_back(bytea_hex(std::string_view(
        reinterpret_cast<const char*>(r.payload_sha256->data()), r.payload_sha256->size())));
  } else {
    v.emplace_back(std::nullopt);
  }
  return v;
}

std::vector<const char*> pointers(const std::vector<std::optional<std::string>>& values) {
  std::vector<const char*> out;
  out.reserve(values.size());
  for (const auto& v : values) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

}  // namespace

std::string timestamptz_literal(std::int64_t time_us) {
  // PostgreSQL reads RFC 3339 (`T`, `Z`) as timestamptz input, in COPY text and parameters.
  return core::format_utc(
      std::chrono::sys_time<std::chrono::microseconds>{std::chrono::microseconds(time_us)}, 6);
}

std::string bytea_hex(std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0x0F]);
  }
  return out;
}

stored_event normalise(const event& e, event::time_point now,
                       const std::optional<stored_payload>& payload) {
  stored_event r;
  const auto t = e.time == event::time_point{} ? now : e.time;
  r.time_us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  r.category = std::string(to_string(e.cat));
  r.entity_fc = optional_text(e.entity_fc, sanp_length);
  r.iuv = optional_text(e.iuv, sanp_length);
  r.ccp = optional_text(e.ccp, sanp_length);
  r.psp_id = optional_text(e.psp_id, sanp_length);
  r.payment_type = optional_text(e.payment_type, sanp_length);
  r.component = required_text(e.component, sanp_length, "pagohubd");
  r.event_type = required_text(e.type, sanp_length, "unspecified");
  r.event_subtype = required_text(e.subtype, sanp_length, "n/a");
  // SANP: for INTERNO events fruitore is the component that raised the event and erogatore the
  // one processing it; both default to the component.
  r.caller_id = required_text(e.caller_id, sanp_length, r.component);
  r.provider_id = required_text(e.provider_id, sanp_length, r.component);
  r.station_id = optional_text(e.station_id, sanp_length);
  r.channel_id = optional_text(e.channel_id, sanp_length);
  std::string params = e.interface_params;
  if (!e.notice_number.empty() && is_notice_number(e.notice_number)) {
    r.notice_number = e.notice_number;
    // Every event of a notice carries its IUV too, so that cross-checks by IUV (DIGEST §7)
    // find events recorded with the notice number only.
    if (!r.iuv) {
      if (auto nav = core::notice_number::parse(e.notice_number)) r.iuv = nav->iuv();
    }
  } else if (!e.notice_number.empty() && params.empty()) {
    params = "noticeNumber=" + e.notice_number;  // kept, but outside the indexed column
  }
  r.interface_params = optional_text(params, 512);
  r.outcome = optional_text(e.outcome, sanp_length);
  r.request_id = optional_text(e.request_id, 64);
  if (known_actor_kind(e.by.kind)) {
    r.actor_kind = e.by.kind;
    r.actor_id = required_text(e.by.id, 128, "unknown");
  } else {
    r.actor_kind = "system";
    r.actor_id = cut(e.by.kind + ":" + e.by.id, 128);
  }
  if (e.duration_ms) r.duration_ms = std::max(0, *e.duration_ms);
  if (e.http_status && *e.http_status >= 100 && *e.http_status <= 599)
    r.http_status = *e.http_status;
  r.fault_code = optional_text(e.fault_code, 64);
  r.interface = std::string(to_string(e.interface));
  if (payload) r.payload_sha256 = payload_digest(*payload);
  return r;
}

void insert_one(pqxx::transaction_base& w, prepared_event& e) {
  static const std::string sql = [] {
    std::string cols, vals;
    for (std::size_t i = 1; i < event_columns.size(); ++i) {
      if (i > 1) {
        cols += ", ";
        vals += ", ";
      }
      cols += event_columns[i];
      vals += "$" + std::to_string(i);
    }
    return "INSERT INTO journal_events (" + cols + ") VALUES (" + vals + ") RETURNING id";
  }();
  // Prepared (db/prepared.hpp): an event is written in the transaction of every state change.
  static const db::statement insert_event{"journal.insert_event", sql.c_str()};
  static constexpr db::statement insert_payload{
      "journal.insert_payload",
      "INSERT INTO journal_payloads (event_id, event_time, content_type, original_bytes, headers, "
      "body) VALUES ($1, $2, $3, $4, $5, $6)"};
  const auto values = row_values(e.row);
  const auto params = pointers(values);
  const pqxx::result r =
      db::exec_prepared(w, insert_event, pqxx::prepare::make_dynamic_params(params));
  e.row.id = r.at(0).at(0).as<std::int64_t>();
  if (!e.payload) return;
  const auto& p = *e.payload;
  db::exec_prepared(w, insert_payload, e.row.id, timestamptz_literal(e.row.time_us), p.content_type,
                    p.original_bytes, p.headers, pqxx::binarystring(p.body.data(), p.body.size()));
}

void copy_many(pqxx::transaction_base& w, std::vector<prepared_event>& batch) {
  if (batch.empty()) return;
  static constexpr db::statement next_ids{
      "journal.next_ids",
      "SELECT nextval('journal_events_id_seq') FROM generate_series(1, $1::integer)"};
  if (batch.front().row.id == 0) {
    const auto ids = db::exec_prepared(w, next_ids, static_cast<int>(batch.size()));
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i].row.id = ids[static_cast<int>(i)][0].as<std::int64_t>();
  }

  {
    pqxx::stream_to events(w, "journal_events",
                           std::vector<std::string>(event_columns.begin(), event_columns.end()));
    // libpqxx 6.4 streams tuple-like rows only: a std::array of C strings, nullptr = NULL.
    std::array<const char*, event_columns.size()> row{};
    for (const auto& e : batch) {
      const auto values = row_values(e.row);
      const std::string id = std::to_string(e.row.id);
      row[0] = id.c_str();
      for (std::size_t i = 0; i < values.size(); ++i)
        row[i + 1] = values[i] ? values[i]->c_str() : nullptr;
      events << row;
    }
    events.complete();
  }
  if (std::none_of(batch.begin(), batch.end(), [](const auto& e) { return e.payload.has_value(); }))
    return;
  pqxx::stream_to payloads(w, "journal_payloads",
                           std::vector<std::string>{"event_id", "event_time", "content_type",
                                                    "original_bytes", "headers", "body"});
  std::array<const char*, 6> row{};
  for (const auto& e : batch) {
    if (!e.payload) continue;
    const std::string id = std::to_string(e.row.id);
    const std::string time = timestamptz_literal(e.row.time_us);
    const std::string bytes = std::to_string(e.payload->original_bytes);
    const std::string body = bytea_hex(e.payload->body);
    row = {id.c_str(),
           time.c_str(),
           e.payload->content_type.c_str(),
           bytes.c_str(),
           e.payload->headers.c_str(),
           body.c_str()};
    payloads << row;
  }
  payloads.complete();
}

bool write_batch(pqxx::transaction_base& w, std::vector<prepared_event>& batch) {
  if (batch.empty()) return true;
  if (const auto& first = batch.front().row; first.id != 0) {
    static const std::string sql =
        "SELECT 1 FROM journal_events WHERE id = $1 AND event_time = " + db::ts_param(2);
    static const db::statement written{"journal.batch_written", sql.c_str()};
    if (!db::exec_prepared(w, written, first.id, first.time_us).empty()) return false;
  }
  copy_many(w, batch);
  return true;
}

std::string event_select_list(std::string_view alias) {
  const std::string a = std::string(alias) + ".";
  std::string out;
  for (const char* column : event_columns) {
    if (!out.empty()) out += ", ";
    const std::string_view c(column);
    if (c == "event_time") {
      out += "(extract(epoch FROM " + a + "event_time) * 1000000)::bigint";
    } else if (c == "payload_sha256") {
      out += "encode(" + a + "payload_sha256, 'hex')";
    } else {
      out += a + std::string(c);
    }
  }
  return out;
}

std::optional<digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  digest d{};
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < d.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return d;
}

stored_event read_event(const pqxx::row& r, int first) {
  int i = first;
  const auto text = [&r, &i]() { return r[i++].as<std::string>(); };
  const auto opt_text = [&r, &i]() -> std::optional<std::string> {
    const auto& f = r[i++];
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
  };
  const auto opt_int = [&r, &i]() -> std::optional<std::int64_t> {
    const auto& f = r[i++];
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
  };
  stored_event e;
  e.id = r[i++].as<std::int64_t>();
  e.time_us = r[i++].as<std::int64_t>();
  e.entity_fc = opt_text();
  e.iuv = opt_text();
  e.ccp = opt_text();
  e.psp_id = opt_text();
  e.payment_type = opt_text();
  e.component = text();
  e.category = text();
  e.event_type = text();
  e.event_subtype = text();
  e.caller_id = text();
  e.provider_id = text();
  e.station_id = opt_text();
  e.channel_id = opt_text();
  e.interface_params = opt_text();
  e.outcome = opt_text();
  e.request_id = opt_text();
  e.notice_number = opt_text();
  e.actor_kind = text();
  e.actor_id = text();
  e.duration_ms = opt_int();
  e.http_status = opt_int();
  e.fault_code = opt_text();
  e.interface = text();
  if (auto hex = opt_text()) e.payload_sha256 = digest_from_hex(*hex);
  return e;
}

}  // namespace pagohub::journal::detail
