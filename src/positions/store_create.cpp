// The statement that creates positions, for one position or many at once (create_many()), and
// the children CTEs it shares with the replace statement (store_write.cpp).
//
// Why many at once: a create's cost in PostgreSQL is mostly per statement, not per row (setting
// up the executor for four tables and their indexes, the position_events trigger's INSERT into
// the journal, the commit). Several creates in one statement pay that once; docs/positions.md
// "Performance".
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <pagohub/db/prepared.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/notice_numbers.hpp>
#include <pagohub/positions/store.hpp>
#include <pqxx/pqxx>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "store_rows.hpp"
#include "store_write.hpp"

namespace pagohub::positions::detail {

namespace {

namespace bj = boost::json;

bj::string_view sv(std::string_view s) {
  return {s.data(), s.size()};
}

void put(bj::object& o, std::string_view key, std::string_view text) {
  o.emplace(sv(key), sv(text));
}

void put(bj::object& o, std::string_view key, const std::string& text) {
  put(o, key, std::string_view(text));
}

void put(bj::object& o, std::string_view key, const std::optional<std::string>& text) {
  if (text)
    o.emplace(sv(key), sv(*text));
  else
    o.emplace(sv(key), nullptr);
}

void put(bj::object& o, std::string_view key, std::int64_t n) {
  o.emplace(sv(key), n);
}

bj::object& new_row(bj::array& rows, std::size_t fields) {
  auto& row = rows.emplace_back(bj::object_kind).as_object();
  row.reserve(fields);
  return row;
}

}  // namespace

void children_doc::add(const position& p, int k) {
  for (std::size_t i = 0; i < p.options.size(); ++i) {
    const payment_option& o = p.options[i];
    const auto ordinal = static_cast<std::int64_t>(i);
    auto& option = new_row(options, 9);
    put(option, "k", k);
    put(option, "ordinal", ordinal);
    put(option, "kind", to_string(o.kind));
    put(option, "instalment", o.instalment);
    put(option, "notice_number", o.notice_number);
    put(option, "iuv", o.iuv);
    put(option, "amount", o.amount);
    put(option, "due_date", format_date(o.due_date));
    put(option, "description", o.description);
    for (const transfer& t : o.transfers) {
      auto& row = new_row(transfers, 12);
      put(row, "k", k);
      put(row, "ordinal", ordinal);
      put(row, "transfer_index", t.index);
      put(row, "beneficiary_fiscal_code", t.beneficiary_fiscal_code);
      put(row, "amount", t.amount);
      put(row, "iban", t.iban);
      put(row, "postal_iban", t.postal_iban);
      put(row, "stamp_document_hash",
          t.stamp ? std::optional<std::string>(t.stamp->document_hash) : std::nullopt);
      put(row, "stamp_type",
          t.stamp ? std::optional<std::string>(t.stamp->stamp_type) : std::nullopt);
      put(row, "stamp_province",
          t.stamp ? std::optional<std::string>(t.stamp->province) : std::nullopt);
      put(row, "remittance_information", t.remittance_information);
      put(row, "taxonomy", t.taxonomy);
      for (std::size_t l = 0; l < t.accounting.size(); ++l) {
        const accounting_entry& a = t.accounting[l];
        auto& line = new_row(accounting, 9);
        put(line, "k", k);
        put(line, "ordinal", ordinal);
        put(line, "transfer_index", t.index);
        put(line, "line", static_cast<std::int64_t>(l));
        put(line, "chapter", a.chapter);
        put(line, "article", a.article);
        put(line, "year", a.year);
        put(line, "assessment", a.assessment);
        put(line, "amount", a.amount);
      }
    }
  }
}

std::string children_doc::options_json() const {
  return bj::serialize(options);
}
std::string children_doc::transfers_json() const {
  return bj::serialize(transfers);
}
std::string children_doc::accounting_json() const {
  return bj::serialize(accounting);
}

std::string children_sql(int n) {
  const auto param = [](int k) { return "$" + std::to_string(k) + "::json"; };
  return R"sql(
o AS (
  INSERT INTO payment_options (entity_fiscal_code, position_id, ordinal, kind, instalment,
                               notice_number, iuv, amount, due_date, description)
  SELECT pk.entity_fiscal_code, pk.id, x.ordinal, x.kind, x.instalment, x.notice_number, x.iuv,
         x.amount, x.due_date, x.description
  FROM pk JOIN json_to_recordset()sql" +
         param(n) + R"sql()
       AS x(k integer, ordinal smallint, kind text, instalment smallint, notice_number text,
            iuv text, amount bigint, due_date date, description text)
    ON x.k = pk.k
  RETURNING entity_fiscal_code, id, position_id, ordinal
),
ok AS (
  SELECT pk.k, o.entity_fiscal_code, o.id, o.ordinal
  FROM o JOIN pk ON pk.entity_fiscal_code = o.entity_fiscal_code AND pk.id = o.position_id
),
t AS (
  INSERT INTO transfers (entity_fiscal_code, option_id, transfer_index, beneficiary_fiscal_code,
                         amount, iban, postal_iban, stamp_document_hash, stamp_type,
                         stamp_province, remittance_information, taxonomy)
  SELECT ok.entity_fiscal_code, ok.id, x.transfer_index, x.beneficiary_fiscal_code, x.amount,
         x.iban, x.postal_iban, x.stamp_document_hash, x.stamp_type, x.stamp_province,
         x.remittance_information, x.taxonomy
  FROM ok JOIN json_to_recordset()sql" +
         param(n + 1) + R"sql()
       AS x(k integer, ordinal smallint, transfer_index smallint, beneficiary_fiscal_code text,
            amount bigint, iban text, postal_iban text, stamp_document_hash text,
            stamp_type text, stamp_province text, remittance_information text, taxonomy text)
    ON x.k = ok.k AND x.ordinal = ok.ordinal
  RETURNING 1
),
a AS (
  INSERT INTO accounting_entries (entity_fiscal_code, option_id, transfer_index, ordinal,
                                  chapter, article, year, assessment, amount)
  SELECT ok.entity_fiscal_code, ok.id, x.transfer_index, x.line, x.chapter, x.article, x.year,
         x.assessment, x.amount
  FROM ok JOIN json_to_recordset()sql" +
         param(n + 2) + R"sql()
       AS x(k integer, ordinal smallint, transfer_index smallint, line smallint, chapter text,
            article text, year integer, assessment text, amount bigint)
    ON x.k = ok.k AND x.ordinal = ok.ordinal
  RETURNING 1
)
)sql";
}

namespace {

// Prepared once per connection (db/prepared.hpp): planning these CTEs costs more than running
// them. $1 is the positions, $2 to $4 their children (children_doc), all keyed by k; json, not
// jsonb, for the reason children_sql() gives.
const db::statement& create_statement() {
  static const std::string sql =
      "WITH d AS MATERIALIZED (\n"
      "  SELECT * FROM json_to_recordset($1::json) AS x(k integer, entity_fiscal_code text,\n"
      "    application_id text, external_id text, debtor_type text, debtor_fiscal_code text,\n"
      "    debtor_full_name text, debtor_street_name text, debtor_civic_number text,\n"
      "    debtor_postal_code text, debtor_city text, debtor_state_province_region text,\n"
      "    debtor_country text, debtor_email text, debtor_phone text, description text,\n"
      "    service_code text, reference_year integer, validity_us bigint, due_date date,\n"
      "    metadata jsonb, at_us bigint, actor_kind text, actor_id text, request_id text)\n"
      "),\n"
      "p AS (\n"
      "  INSERT INTO positions (entity_fiscal_code, application_id, external_id, status,\n"
      "    debtor_type, debtor_fiscal_code, debtor_full_name, debtor_street_name,\n"
      "    debtor_civic_number, debtor_postal_code, debtor_city, debtor_state_province_region,\n"
      "    debtor_country, debtor_email, debtor_phone, description, service_code,\n"
      "    reference_year, validity_date, due_date, metadata, created_at, updated_at)\n"
      "  SELECT entity_fiscal_code, application_id, external_id, 'DRAFT', debtor_type,\n"
      "    debtor_fiscal_code, debtor_full_name, debtor_street_name, debtor_civic_number,\n"
      "    debtor_postal_code, debtor_city, debtor_state_province_region, debtor_country,\n"
      "    debtor_email, debtor_phone, description, service_code, reference_year,\n"
      "    'epoch'::timestamptz + validity_us * interval '1 microsecond', due_date, metadata,\n"
      "    'epoch'::timestamptz + at_us * interval '1 microsecond',\n"
      "    'epoch'::timestamptz + at_us * interval '1 microsecond'\n"
      "  FROM d ORDER BY k\n"
      "  ON CONFLICT (entity_fiscal_code, application_id, external_id) DO NOTHING\n"
      "  RETURNING entity_fiscal_code, application_id, external_id, id\n"
      "),\n"
      "pk AS (\n"
      "  SELECT d.k, p.entity_fiscal_code, p.id, d.at_us, d.actor_kind, d.actor_id, d.request_id\n"
      "  FROM p JOIN d USING (entity_fiscal_code, application_id, external_id)\n"
      "),\n"
      "ev AS (\n"
      "  INSERT INTO position_events (entity_fiscal_code, position_id, event, from_status,\n"
      "    to_status, at, actor_kind, actor_id, request_id)\n"
      "  SELECT entity_fiscal_code, id, 'CREATED', NULL, 'DRAFT',\n"
      "    'epoch'::timestamptz + at_us * interval '1 microsecond', actor_kind, actor_id,\n"
      "    request_id FROM pk\n"
      "),\n" +
      children_sql(2) + "SELECT k, id FROM pk";
  static const db::statement statement{"positions.create", sql.c_str()};
  return statement;
}

}  // namespace

std::map<std::size_t, std::int64_t> write_new(pqxx::transaction_base& tx,
                                              std::span<const new_position* const> items) {
  bj::monotonic_resource memory;
  bj::array rows(&memory);
  rows.reserve(items.size());
  children_doc children;
  for (std::size_t k = 0; k < items.size(); ++k) {
    const new_position& n = *items[k];
    const position& p = n.p;
    const debtor& d = p.payer;
    auto& row = new_row(rows, 25);
    put(row, "k", static_cast<std::int64_t>(k));
    put(row, "entity_fiscal_code", p.entity_fiscal_code);
    put(row, "application_id", p.application_id);
    put(row, "external_id", p.external_id);
    put(row, "debtor_type", to_string(d.type));
    put(row, "debtor_fiscal_code", d.fiscal_code);
    put(row, "debtor_full_name", d.full_name);
    put(row, "debtor_street_name", d.street_name);
    put(row, "debtor_civic_number", d.civic_number);
    put(row, "debtor_postal_code", d.postal_code);
    put(row, "debtor_city", d.city);
    put(row, "debtor_state_province_region", d.state_province_region);
    put(row, "debtor_country", d.country);
    put(row, "debtor_email", d.email);
    put(row, "debtor_phone", d.phone);
    put(row, "description", p.description);
    put(row, "service_code", p.service_code);
    put(row, "reference_year", p.reference_year);
    if (p.validity_date)
      put(row, "validity_us", to_micros(*p.validity_date));
    else
      row.emplace("validity_us", nullptr);
    put(row, "due_date", format_date(p.due_date));
    row.emplace("metadata", metadata_document(p.metadata, row.storage()));
    put(row, "at_us", to_micros(n.now));
    put(row, "actor_kind", n.by.kind);
    put(row, "actor_id", n.by.id);
    put(row, "request_id",
        n.by.request_id.empty() ? std::nullopt : std::optional<std::string>(n.by.request_id));
    children.add(p, static_cast<int>(k));
  }
  // Text is valid UTF-8 here (validate() refuses anything else), which serialize() copies as
  // it is, escaping quotes, backslashes and control characters.
  const pqxx::result r =
      db::exec_prepared(tx, create_statement(), bj::serialize(rows), children.options_json(),
                        children.transfers_json(), children.accounting_json());
  std::map<std::size_t, std::int64_t> created;
  for (const auto& row : r) {
    created.emplace(row[0].as<std::size_t>(), row[1].as<std::int64_t>());
  }
  return created;
}

void mark_created(position& p, std::int64_t id, timestamp now) {
  p.id = id;
  p.status = position_status::draft;
  p.created_at = now;
  p.updated_at = now;
  p.published_at.reset();
  p.version = 1;
}

}  // namespace pagohub::positions::detail

namespace pagohub::positions {

std::vector<std::optional<upsert_outcome>> create_many(pqxx::dbtransaction& w,
                                                       std::vector<new_position> items) {
  // One notice allocation per entity, for all its options in the batch.
  std::map<const config::entity*, int> wanted;
  std::set<std::tuple<std::string, std::string, std::string>> keys;
  for (const new_position& n : items) {
    if (n.entity == nullptr) throw std::invalid_argument("create_many: an item has no entity");
    if (!keys.emplace(n.p.entity_fiscal_code, n.p.application_id, n.p.external_id).second) {
      throw std::invalid_argument("create_many: two items create " + n.p.external_id);
    }
    for (const payment_option& o : n.p.options) {
      if (!o.notice_number.empty()) {
        throw std::invalid_argument("create_many: notice numbers are allocated here");
      }
    }
    wanted[n.entity] += static_cast<int>(n.p.options.size());
  }
  for (const auto& [entity, count] : wanted) {
    const auto fresh = allocate_notice_numbers(w, *entity, count);
    std::size_t next = 0;
    for (new_position& n : items) {
      if (n.entity != entity) continue;
      for (payment_option& o : n.p.options) {
        o.notice_number = fresh[next].str();
        o.iuv = fresh[next].iuv();
        ++next;
      }
    }
  }
  std::vector<const new_position*> rows;
  rows.reserve(items.size());
  for (const new_position& n : items) rows.push_back(&n);
  const auto created = detail::write_new(w, rows);

  std::vector<std::optional<upsert_outcome>> out(items.size());
  for (const auto& [k, id] : created) {
    detail::mark_created(items[k].p, id, items[k].now);
    out[k] = upsert_outcome{true, std::move(items[k].p)};
  }
  return out;
}

}  // namespace pagohub::positions
