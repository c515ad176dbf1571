#include <pagohub/journal/query.hpp>

#include <pagohub/core/notice_number.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>

#include "compress.hpp"
#include "storage.hpp"

namespace pagohub::journal {
namespace {

constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += b64[(v >> 18) & 63];
    out += b64[(v >> 12) & 63];
    out += b64[(v >> 6) & 63];
    out += b64[v & 63];
    i += 3;
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += b64[(v >> 18) & 63];
    out += b64[(v >> 12) & 63];
    if (i + 1 < in.size()) out += b64[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::find(std::begin(b64), std::end(b64) - 1, c);
    if (p == std::end(b64) - 1) return std::nullopt;
    v = (v << 6) | static_cast<unsigned>(p - b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((v >> bits) & 0xFF));
    }
  }
  return out;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A statement under construction: conditions with numbered parameters.
struct builder {
  std::vector<std::string> params;
  std::string param(std::string value) {
    params.push_back(std::move(value));
    return "$" + std::to_string(params.size());
  }
};

std::string conditions(builder& b, const page_request& r) {
  const auto& f = r.where;
  std::string c;
  const auto add = [&c](const std::string& cond) { c += " AND " + cond; };
  if (f.iuv) add("e.iuv = " + b.param(*f.iuv));
  if (f.notice_number) {
    add("e.notice_number = " + b.param(*f.notice_number));
    // Without an entity the timeline index cannot lead; every event with a notice number also
    // carries its IUV (storage.cpp), so the IUV index can.
    if (!f.entity && !f.iuv) {
      if (auto nav = core::notice_number::parse(*f.notice_number))
        add("e.iuv = " + b.param(nav->iuv()));
    }
  }
  if (f.request_id) add("e.request_id = " + b.param(*f.request_id));
  if (f.event_type) add("e.event_type = " + b.param(*f.event_type));
  if (f.outcome) add("e.outcome = " + b.param(*f.outcome));
  if (f.from_us)
    add("e.event_time >= " + b.param(detail::timestamptz_literal(*f.from_us)) + "::timestamptz");
  if (f.to_us)
    add("e.event_time < " + b.param(detail::timestamptz_literal(*f.to_us)) + "::timestamptz");
  if (r.after)
    add("(e.event_time, e.id) > (" + b.param(detail::timestamptz_literal(r.after->time_us)) +
        "::timestamptz, " + b.param(std::to_string(r.after->id)) + "::bigint)");
  return c;
}

std::string pg_text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

// What a back-office application may read within its entities (scope::application). The IUV
// test probes notice_owners' (entity, IUV) key, then payment_options' and the position's, once
// per candidate event: an application that owns a small share of a busy entity's events pays for
// the scan of the others, so long walks should be bounded with from/to (docs/journal.md).
std::string own_events(builder& b, const scope& s) {
  if (s.all || !s.application) return {};
  const std::string app = b.param(*s.application);
  std::string c = " AND ((e.actor_kind = 'application' AND e.actor_id = " + app + ")";
  if (!s.providers.empty())
    c += " OR e.provider_id = ANY(" + b.param(pg_text_array(s.providers)) + "::text[])";
  // A correlated sub-select yielding a boolean, not EXISTS nor `(sub-select) = app`: under OR,
  // PostgreSQL may turn an EXISTS into a hashed subplan over every notice of the application,
  // built for each query however small the page; and it estimates `(sub-select) = app` to hold
  // for one event in 200, so it reads and sorts every event of the range rather than walk the
  // (entity, time) index until the page is full. A bare sub-select is estimated at one in two.
  // The notice's owner: for the events before its option was first deleted, the application
  // it had then (notice_owners, sql/0031); for the others its current option's, or, when the
  // number was not issued again, still the first one's.
  const std::string retired =
      " FROM notice_owners n WHERE n.entity_fiscal_code = e.entity_fc "
      "COLLATE \"C\" AND n.iuv = e.iuv COLLATE \"C\"";
  const std::string owner =
      "coalesce((SELECT n.application_id = " + app + retired +
      " AND e.event_time < n.since), (SELECT p.application_id = " + app +
      " FROM payment_options o"
      " JOIN positions p ON p.entity_fiscal_code = o.entity_fiscal_code AND p.id = o.position_id"
      " WHERE o.entity_fiscal_code = e.entity_fc COLLATE \"C\" AND o.iuv = e.iuv COLLATE \"C\"),"
      " (SELECT n.application_id = " +
      app + retired + "))";
  if (!s.orphans) {
    c += " OR (e.iuv IS NOT NULL AND " + owner + "))";
    return c;
  }
  // A notice no application was ever issued (the sub-select is NULL): the event is read by an
  // application granted every service, as the receipts feed decides, unless another
  // application caused it or it is an exchange with another application's integration (a
  // lookup of a number its back-office did not know).
  std::string unowned = "e.actor_kind IS DISTINCT FROM 'application'";
  if (!s.foreign_providers.empty())
    unowned +=
        " AND NOT e.provider_id = ANY(" + b.param(pg_text_array(s.foreign_providers)) + "::text[])";
  c += " OR (e.iuv IS NOT NULL AND coalesce(" + owner + ", " + unowned + ")))";
  return c;
}

}  // namespace

bool scope::grants(std::string_view entity) const {
  return all || std::find(entities.begin(), entities.end(), entity) != entities.end();
}

std::string encode_cursor(position_key k) {
  return "v1" + base64url(std::to_string(k.time_us) + "." + std::to_string(k.id));
}

std::optional<position_key> decode_cursor(std::string_view cursor) {
  if (!cursor.starts_with("v1") || cursor.size() > 64) return std::nullopt;
  const auto text = unbase64url(cursor.substr(2));
  if (!text) return std::nullopt;
  const auto dot = text->find('.');
  if (dot == std::string::npos) return std::nullopt;
  const auto t = to_int(std::string_view(*text).substr(0, dot));
  const auto id = to_int(std::string_view(*text).substr(dot + 1));
  if (!t || !id || *id < 0) return std::nullopt;
  return position_key{*t, *id};
}

page find_events(pqxx::transaction_base& w, const scope& s, const page_request& r) {
  page out;
  const int limit = std::clamp(r.limit, 1, 5000);
  const auto& f = r.where;
  if (f.entity && !s.all &&
      std::find(s.entities.begin(), s.entities.end(), *f.entity) == s.entities.end())
    return out;
  if (!s.all && s.entities.empty()) return out;

  builder b;
  const std::string list = detail::event_select_list("e");
  const std::string fetch = std::to_string(limit + 1);
  std::string sql;
  const bool selective = f.iuv || f.notice_number || f.request_id;
  if (f.entity || s.all || selective || s.entities.size() == 1) {
    std::string where = "TRUE";
    if (f.entity) {
      where = "e.entity_fc = " + b.param(*f.entity);
    } else if (!s.all && s.entities.size() == 1) {
      where = "e.entity_fc = " + b.param(s.entities.front());
    } else if (!s.all) {
      where = "e.entity_fc = ANY(" + b.param(pg_text_array(s.entities)) + "::text[])";
    }
    where += conditions(b, r) + own_events(b, s);
    sql = "SELECT " + list + " FROM journal_events e WHERE " + where +
          " ORDER BY e.event_time, e.id LIMIT " + fetch;
  } else {
    // Several entities, nothing selective: one ordered index scan per entity, merged. An
    // `entity_fc = ANY(...)` here would read and sort every event of every entity.
    std::string branches;
    for (const auto& entity : s.entities) {
      if (!branches.empty()) branches += " UNION ALL ";
      branches += "(SELECT " + list + ", e.event_time AS sort_time FROM journal_events e WHERE " +
                  "e.entity_fc = " + b.param(entity) + conditions(b, r) + own_events(b, s) +
                  " ORDER BY e.event_time, e.id LIMIT " + fetch + ")";
    }
    sql = "SELECT * FROM (" + branches + ") u ORDER BY u.sort_time, u.id LIMIT " + fetch;
  }
  const auto rows = w.exec_params(sql, pqxx::prepare::make_dynamic_params(b.params));
  for (const auto& row : rows) {
    if (static_cast<int>(out.items.size()) == limit) {
      out.more = true;
      break;
    }
    out.items.push_back(detail::read_event(row));
  }
  return out;
}

std::optional<event_detail> get_event(pqxx::transaction_base& w, const scope& s, std::int64_t id) {
  builder b;
  const std::string by_id = "e.id = " + b.param(std::to_string(id)) + "::bigint";
  // Built before the call: the parameters are complete only once own_events() has run.
  const std::string sql =
      "SELECT " + detail::event_select_list("e") +
      ", p.event_id IS NOT NULL, p.content_type, p.original_bytes, p.headers, p.body,"
      " to_regclass('journal_payloads_' || to_char(e.event_time AT TIME ZONE 'UTC', "
      "'YYYYMM')) IS NOT NULL"
      "  FROM journal_events e"
      "  LEFT JOIN journal_payloads p ON p.event_id = e.id AND p.event_time = e.event_time"
      " WHERE " +
      by_id + own_events(b, s);
  const auto rows = w.exec_params(sql, pqxx::prepare::make_dynamic_params(b.params));
  if (rows.empty()) return std::nullopt;
  const auto& row = rows[0];
  event_detail d;
  d.event = detail::read_event(row);
  if (!s.all) {
    if (!d.event.entity_fc ||
        std::find(s.entities.begin(), s.entities.end(), *d.event.entity_fc) == s.entities.end())
      return std::nullopt;
  }
  if (row[26].as<bool>()) {
    stored_payload p;
    p.content_type = row[27].as<std::string>();
    p.original_bytes = row[28].as<std::int64_t>();
    p.headers = row[29].as<std::string>();
    const pqxx::binarystring body(row[30]);
    p.body.assign(reinterpret_cast<const char*>(body.data()), body.size());
    d.body = detail::decompress(p.body, static_cast<std::size_t>(p.original_bytes));
    d.payload = std::move(p);
    d.state = payload_state::stored;
  } else if (d.event.payload_sha256) {
    d.state = row[31].as<bool>() ? payload_state::none : payload_state::expired;
  }
  return d;
}

}  // namespace pagohub::journal
