#include <pagohub/positions/notice_numbers.hpp>

#include <pagohub/db/prepared.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pagohub::positions {
namespace {

// One round trip: draw `count` progressives, format them in SQL, and drop any the entity
// already uses (a notice number it supplied itself for another position) or used once (one it
// supplied whose option was dropped since: sql/0031).
//
// Written for the plan cache, because a single create runs it once per position:
// - the sequence is found with to_regclass, and pagohub_notice_sequence() (PL/pgSQL, with a
//   SET clause that makes every call save and restore settings) runs only when it is missing;
// - nextval() is drawn in a CTE of its own, so pagohub_make_notice() gets a plain column and is
//   inlined; with nextval() as its argument PostgreSQL cannot inline it (a volatile argument
//   used more than once) and parses and plans its body on every execution;
// - the rows to draw come from pagohub_notice_draws($4) (sql/0024), not generate_series($4): the
//   generic plan of a series of unknown length estimates a thousand rows, so PostgreSQL chose a
//   fresh custom plan for every call; the one-notice statement has no series at all.
std::string allocate_sql(bool many) {
  return std::string(R"sql(
WITH s AS MATERIALIZED (
       SELECT coalesce(to_regclass(format('%I.%I', current_schema(), 'notice_seq_' || $1)),
                       pagohub_notice_sequence($1)) AS seq),
     p AS MATERIALIZED (SELECT nextval(s.seq) AS v FROM s)sql") +
         (many ? ", pagohub_notice_draws($4)" : "") + R"sql(),
     a AS MATERIALIZED (SELECT pagohub_make_notice($2, $3, p.v) AS n FROM p)
SELECT a.n FROM a
WHERE NOT EXISTS (SELECT 1 FROM payment_options o
                  WHERE o.entity_fiscal_code = $1 AND o.notice_number = a.n)
  AND NOT EXISTS (SELECT 1 FROM notice_owners r
                  WHERE r.entity_fiscal_code = $1 AND r.iuv = pagohub_notice_iuv(a.n))
ORDER BY a.n
)sql";
}

const db::statement& allocate_one() {
  static const std::string sql = allocate_sql(false);
  static const db::statement statement{"positions.allocate_notice", sql.c_str()};
  return statement;
}

const db::statement& allocate_many() {
  static const std::string sql = allocate_sql(true);
  static const db::statement statement{"positions.allocate_notices", sql.c_str()};
  return statement;
}

constexpr int max_batch = 100000;

}  // namespace

void ensure_notice_sequence(pqxx::dbtransaction& w, std::string_view entity_fc) {
  (void)notice_sequence_name(entity_fc);  // validates before the round trip
  w.exec_params("SELECT pagohub_notice_sequence($1)", std::string(entity_fc));
}

std::set<std::string> owned_notices(pqxx::transaction_base& w, const config::entity& e,
                                    const std::string& application_id, const position& p) {
  std::string list = "{";
  for (const payment_option& o : p.options) {
    const auto n = core::notice_number::parse(o.notice_number);
    if (!n || in_notice_space(e, *n)) continue;
    if (list.size() > 1) list += ',';
    list += n->str();  // 18 digits
  }
  std::set<std::string> out;
  if (list.size() == 1) return out;
  list += '}';
  static constexpr db::statement owned_sql{
      "positions.owned_notices",
      "SELECT n FROM unnest($2::text[]) n "
      " WHERE EXISTS (SELECT 1 FROM payment_options o JOIN positions q "
      "                 ON q.entity_fiscal_code = o.entity_fiscal_code AND q.id = o.position_id "
      "                WHERE o.entity_fiscal_code = $1 AND o.notice_number = n "
      "                  AND q.application_id = $3 AND q.external_id = $4) "
      "    OR EXISTS (SELECT 1 FROM notice_owners r WHERE r.entity_fiscal_code = $1 "
      "                  AND r.iuv = pagohub_notice_iuv(n) AND r.application_id = $3)"};
  for (const auto& row :
       db::exec_prepared(w, owned_sql, e.fiscal_code.str(), list, application_id, p.external_id))
    out.insert(row[0].as<std::string>());
  return out;
}

std::vector<core::notice_number> allocate_notice_numbers(pqxx::dbtransaction& w,
                                                         const config::entity& e, int count,
                                                         const std::set<std::string>& excluded) {
  if (count < 0 || count > max_batch) {
    throw std::invalid_argument("allocate_notice_numbers: count must be 0..100000");
  }
  std::vector<core::notice_number> out;
  if (count == 0) return out;
  const int code = notice_space_code(e);
  out.reserve(static_cast<std::size_t>(count));
  // Each pass loses only the progressives the entity itself already used, so a second pass is
  // rare. It takes an entity that supplies numbers right in the sequence's path: one that
  // brought its notices from another intermediary, whose progressives run from 1 as the new
  // sequence does. After a short pass each pass draws more than it needs (the extra numbers
  // are left unused, a gap like any rolled-back draw), so that a run of a million used numbers
  // is passed in a few round trips, and never by failing requests one at a time.
  constexpr int max_passes = 24;
  for (int pass = 0; pass < max_passes && static_cast<int>(out.size()) < count; ++pass) {
    const int wanted = count - static_cast<int>(out.size());
    const int draw = pass == 0 ? wanted : std::min(max_batch, wanted + (64 << std::min(pass, 11)));
    const pqxx::result r =
        draw == 1
            ? db::exec_prepared(w, allocate_one(), e.fiscal_code.str(), e.aux_digit, code)
            : db::exec_prepared(w, allocate_many(), e.fiscal_code.str(), e.aux_digit, code, draw);
    for (const auto& row : r) {
      if (static_cast<int>(out.size()) == count) break;
      if (excluded.contains(row[0].c_str())) continue;
      auto parsed = core::notice_number::parse(row[0].c_str());
      if (!parsed || !in_notice_space(e, *parsed)) {
        // The SQL and C++ formatters disagree: a broken invariant, not input.
        throw std::logic_error("pagohub_make_notice produced " + std::string(row[0].c_str()) +
                               " for entity " + e.fiscal_code.str());
      }
      out.push_back(*std::move(parsed));
    }
  }
  if (static_cast<int>(out.size()) < count) {
    throw std::runtime_error("could not allocate " + std::to_string(count) +
                             " unused notice numbers for entity " + e.fiscal_code.str());
  }
  return out;
}

}  // namespace pagohub::positions
