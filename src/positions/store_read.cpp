// Reads: one position by its keys, and the keyset-paginated list.
#include <pagohub/db/prepared.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/store.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <string>
#include <unordered_map>

#include "store_rows.hpp"

namespace pagohub::positions {
namespace {

using detail::load_children;
using detail::position_columns;
using detail::read_position;

constexpr int max_limit = 500;
constexpr std::string_view cursor_prefix = "p1:";  // versioned, should the order ever change

constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    const auto v = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
                   (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8) |
                   static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
    out += base64url_alphabet[(v >> 18) & 63];
    out += base64url_alphabet[(v >> 12) & 63];
    out += base64url_alphabet[(v >> 6) & 63];
    out += base64url_alphabet[v & 63];
    i += 3;
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) v |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += base64url_alphabet[(v >> 18) & 63];
    out += base64url_alphabet[(v >> 12) & 63];
    if (rest == 2) out += base64url_alphabet[(v >> 6) & 63];
  }
  return out;  // unpadded (RFC 4648 §5): safe in a query string as is
}

std::optional<std::string> unbase64url(std::string_view in) {
  if (in.size() % 4 == 1 || in.size() > 64) return std::nullopt;
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    const auto pos = base64url_alphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::string encode_cursor(std::int64_t last_id) {
  return base64url(std::string(cursor_prefix) + std::to_string(last_id));
}

std::optional<std::int64_t> decode_cursor(std::string_view cursor) {
  const auto text = unbase64url(cursor);
  if (!text || !text->starts_with(cursor_prefix)) return std::nullopt;
  const std::string_view digits = std::string_view(*text).substr(cursor_prefix.size());
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || id < 0 || digits.empty()) {
    return std::nullopt;
  }
  return id;
}

std::vector<position> with_children(pqxx::dbtransaction& w, const pqxx::result& r) {
  std::vector<position> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(read_position(row));
  load_children(w, out);
  return out;
}

// The rows a page of positions brings with it, by position id.
constexpr db::statement children_count{"positions.children_count", R"sql(
SELECT o.position_id,
       count(*) + coalesce(sum((SELECT count(*) FROM transfers t
                                 WHERE t.entity_fiscal_code = o.entity_fiscal_code
                                   AND t.option_id = o.id)), 0)
                + coalesce(sum((SELECT count(*) FROM accounting_entries a
                                 WHERE a.entity_fiscal_code = o.entity_fiscal_code
                                   AND a.option_id = o.id)), 0)
FROM payment_options o
WHERE o.entity_fiscal_code = ANY($1::text[]) AND o.position_id = ANY($2::bigint[])
GROUP BY o.position_id
)sql"};

// How many of `rows`, from the first, bring at most `budget` child rows (at least one).
std::size_t positions_within(pqxx::dbtransaction& w, const std::vector<position>& rows,
                             std::int64_t budget) {
  if (rows.size() <= 1) return rows.size();
  std::vector<std::string> entities;
  std::vector<std::int64_t> ids;
  for (const auto& p : rows) {
    entities.push_back(p.entity_fiscal_code);
    ids.push_back(p.id);
  }
  std::unordered_map<std::int64_t, std::int64_t> children;
  for (const auto& c :
       db::exec_prepared(w, children_count, detail::entity_array(entities), detail::id_array(ids)))
    children[c[0].as<std::int64_t>()] = c[1].as<std::int64_t>();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    total += children[rows[i].id];
    if (total > budget) return std::max<std::size_t>(i, 1);
  }
  return rows.size();
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  });
  return s;
}

}  // namespace

std::optional<position> find_by_external_id(pqxx::dbtransaction& w, std::string_view entity_fc,
                                            std::string_view application_id,
                                            std::string_view external_id) {
  const pqxx::result r =
      w.exec_params("SELECT " + position_columns() +
                        " FROM positions p WHERE p.entity_fiscal_code = $1 "
                        "AND p.application_id = $2 AND p.external_id = $3",
                    std::string(entity_fc), std::string(application_id), std::string(external_id));
  if (r.empty()) return std::nullopt;
  return std::move(with_children(w, r).front());
}

std::optional<std::string> find_service_code(pqxx::dbtransaction& w, std::string_view entity_fc,
                                             std::string_view application_id,
                                             std::string_view external_id) {
  const pqxx::result r = w.exec_params(
      "SELECT service_code FROM positions WHERE entity_fiscal_code = $1 "
      "AND application_id = $2 AND external_id = $3",
      std::string(entity_fc), std::string(application_id), std::string(external_id));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<position> find_by_notice(pqxx::dbtransaction& w, std::string_view entity_fc,
                                       std::string_view notice_number) {
  const pqxx::result r =
      w.exec_params("SELECT " + position_columns() +
                        " FROM positions p WHERE p.entity_fiscal_code = $1 AND p.id = "
                        "(SELECT o.position_id FROM payment_options o "
                        " WHERE o.entity_fiscal_code = $1 AND o.notice_number = $2)",
                    std::string(entity_fc), std::string(notice_number));
  if (r.empty()) return std::nullopt;
  return std::move(with_children(w, r).front());
}

core::result<list_page> list(pqxx::dbtransaction& w, const list_query& q) {
  if (q.limit < 1 || q.limit > max_limit) {
    return core::fail(core::errc::invalid_input, "limit must be between 1 and 500", "/query/limit");
  }
  std::int64_t after = 0;
  if (q.cursor) {
    const auto id = decode_cursor(*q.cursor);
    if (!id) {
      return core::fail(core::errc::invalid_input,
                        "is not a cursor returned by this list (start again without it)",
                        "/query/cursor");
    }
    after = *id;
  }
  list_page page;
  const std::string entities = detail::entity_array(q.entities);
  if (entities == "{}") return page;  // no entity granted: nothing to see

  // Filters present become conditions with numbered parameters; absent ones are left out of
  // the text, so each combination gets a plan of its own. The parameters travel as one vector
  // of text (libpqxx 6 dynamic_params) and are cast in SQL.
  std::vector<std::string> params{entities, std::to_string(after), std::to_string(q.limit + 1)};
  std::string where;
  const auto add = [&](const std::string& condition_before, std::string value,
                       const std::string& cast) {
    params.push_back(std::move(value));
    where += " AND " + condition_before + "$" + std::to_string(params.size()) + cast;
  };
  if (q.application_id) add("p.application_id = ", *q.application_id, "");
  if (q.status) add("p.status = ", std::string(to_string(*q.status)), "");
  if (q.service) add("p.service_code = ", *q.service, "");
  if (q.debtor) add("p.debtor_fiscal_code = ", upper(*q.debtor), "");
  if (q.due_from) add("p.due_date >= ", format_date(*q.due_from), "::date");
  if (q.due_to) add("p.due_date <= ", format_date(*q.due_to), "::date");
  if (q.updated_since) {
    add("p.updated_at >= 'epoch'::timestamptz + interval '1 microsecond' * ",
        std::to_string(detail::to_micros(*q.updated_since)), "::bigint");
  }
  // One ordered index walk per entity (LATERAL), merged: an application granted several
  // entities still reads only about `limit` rows of each.
  const std::string sql = "SELECT " + position_columns() +
                          " FROM unnest($1::text[]) AS e(fc) CROSS JOIN LATERAL ("
                          " SELECT p.* FROM positions p WHERE p.entity_fiscal_code = e.fc"
                          " AND p.id > $2::bigint" +
                          where +
                          " ORDER BY p.id LIMIT $3::int) p"
                          " ORDER BY p.id LIMIT $3::int";

  const pqxx::result r = w.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
  std::vector<position> rows;
  rows.reserve(r.size());
  for (const auto& row : r) rows.push_back(read_position(row));
  // The page ends early when its positions' options, transfers and accounting lines pass
  // q.max_children (at least one position is always served): a position may hold a hundred
  // options of five transfers with fifty lines each, and five hundred such would be millions
  // of rows and a response of gigabytes in the daemon's memory. A page of the largest limit of
  // ordinary positions (a few rows each) stays well below the default.
  const std::size_t fits = positions_within(w, rows, q.max_children);
  const bool more = fits < rows.size() || rows.size() > static_cast<std::size_t>(q.limit);
  rows.resize(std::min({fits, rows.size(), static_cast<std::size_t>(q.limit)}));
  load_children(w, rows);
  page.items = std::move(rows);
  if (more && !page.items.empty()) page.next_cursor = encode_cursor(page.items.back().id);
  return page;
}

}  // namespace pagohub::positions
