#include "store_rows.hpp"

#include <boost/json/serialize.hpp>
#include <nlohmann/json.hpp>
#include <pagohub/db/prepared.hpp>
#include <pagohub/positions/dates.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace pagohub::positions::detail {
namespace {

std::optional<timestamp> opt_micros(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_micros(f.as<std::int64_t>());
}

date read_date(const pqxx::field& f) {
  const auto d = parse_date(f.c_str());
  if (!d) throw std::runtime_error(std::string("unexpected date from the database: ") + f.c_str());
  return *d;
}

std::vector<std::pair<std::string, std::string>> parse_metadata(const char* text) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto doc = nlohmann::json::parse(text);
  for (const auto& item : doc) {
    out.emplace_back(item.at("key").get<std::string>(), item.at("value").get<std::string>());
  }
  return out;
}

template <class Enum, class Parse>
Enum read_enum(const pqxx::field& f, Parse parse) {
  const auto v = parse(std::string_view(f.c_str()));
  if (!v) throw std::runtime_error(std::string("unexpected value from the database: ") + f.c_str());
  return *v;
}

// Column order of the children queries (position_columns() is documented where it is built).
constexpr db::statement options_sql{"positions.load_options", R"sql(
SELECT o.position_id, o.id, o.kind, o.instalment, o.notice_number, o.iuv, o.amount,
       to_char(o.due_date, 'YYYY-MM-DD'), o.description, o.status,
       (extract(epoch FROM o.paid_at) * 1000000)::bigint, o.receipt_id
FROM payment_options o
WHERE o.entity_fiscal_code = ANY($1::text[]) AND o.position_id = ANY($2::bigint[])
ORDER BY o.position_id, o.ordinal
)sql"};

constexpr db::statement transfers_sql{"positions.load_transfers", R"sql(
SELECT t.option_id, t.transfer_index, t.beneficiary_fiscal_code, t.amount, t.iban, t.postal_iban,
       t.stamp_document_hash, t.stamp_type, t.stamp_province, t.remittance_information, t.taxonomy
FROM transfers t
JOIN payment_options o ON o.entity_fiscal_code = t.entity_fiscal_code AND o.id = t.option_id
WHERE o.entity_fiscal_code = ANY($1::text[]) AND o.position_id = ANY($2::bigint[])
ORDER BY t.option_id, t.transfer_index
)sql"};

constexpr db::statement accounting_sql{"positions.load_accounting", R"sql(
SELECT a.option_id, a.transfer_index, a.chapter, a.article, a.year, a.assessment, a.amount
FROM accounting_entries a
JOIN payment_options o ON o.entity_fiscal_code = a.entity_fiscal_code AND o.id = a.option_id
WHERE o.entity_fiscal_code = ANY($1::text[]) AND o.position_id = ANY($2::bigint[])
ORDER BY a.option_id, a.transfer_index, a.ordinal
)sql"};

}  // namespace

const std::string& position_columns() {
  // Read by read_position() by index: keep the two in step.
  static const std::string columns =
      "p.id, p.entity_fiscal_code, p.application_id, p.external_id, p.status, "  // 0-4
      "p.debtor_type, p.debtor_fiscal_code, p.debtor_full_name, "                // 5-7
      "p.debtor_street_name, p.debtor_civic_number, p.debtor_postal_code, "      // 8-10
      "p.debtor_city, p.debtor_state_province_region, p.debtor_country, "        // 11-13
      "p.debtor_email, p.debtor_phone, p.description, p.service_code, "          // 14-17
      "p.reference_year, " +                                                     // 18
      micros_of("p.validity_date") +
      ", to_char(p.due_date, 'YYYY-MM-DD'), " +                                        // 19-20
      "p.metadata::text, " + micros_of("p.created_at") + ", " +                        // 21-22
      micros_of("p.updated_at") + ", " + micros_of("p.published_at") + ", p.version";  // 23-25
  return columns;
}

position read_position(const pqxx::row& r) {
  position p;
  p.id = r[0].as<std::int64_t>();
  p.entity_fiscal_code = r[1].as<std::string>();
  p.application_id = r[2].as<std::string>();
  p.external_id = r[3].as<std::string>();
  p.status = read_enum<position_status>(r[4], parse_position_status);
  p.payer = read_debtor(r, 5);
  p.payer.phone = db::optional_text(r[15]);
  p.description = r[16].as<std::string>();
  p.service_code = r[17].as<std::string>();
  p.reference_year = r[18].as<int>();
  p.validity_date = opt_micros(r[19]);
  p.due_date = read_date(r[20]);
  p.metadata = parse_metadata(r[21].c_str());
  p.created_at = from_micros(r[22].as<std::int64_t>());
  p.updated_at = from_micros(r[23].as<std::int64_t>());
  p.published_at = opt_micros(r[24]);
  p.version = r[25].as<std::int64_t>();
  return p;
}

void load_children(pqxx::dbtransaction& w, std::vector<position>& positions) {
  if (positions.empty()) return;
  std::vector<std::string> entities;
  std::vector<std::int64_t> ids;
  std::unordered_map<std::int64_t, std::size_t> by_position;
  for (std::size_t i = 0; i < positions.size(); ++i) {
    entities.push_back(positions[i].entity_fiscal_code);
    ids.push_back(positions[i].id);
    by_position.emplace(positions[i].id, i);
  }
  const std::string entity_param = entity_array(entities);
  const std::string id_param = id_array(ids);

  // option id -> (position index, option index)
  std::unordered_map<std::int64_t, std::pair<std::size_t, std::size_t>> by_option;
  for (const auto& r : db::exec_prepared(w, options_sql, entity_param, id_param)) {
    const std::size_t pi = by_position.at(r[0].as<std::int64_t>());
    payment_option o;
    o.kind = read_enum<option_kind>(r[2], parse_option_kind);
    o.instalment = r[3].as<int>();
    o.notice_number = r[4].as<std::string>();
    o.iuv = r[5].as<std::string>();
    o.amount = r[6].as<std::int64_t>();
    o.due_date = read_date(r[7]);
    o.description = r[8].as<std::string>();
    o.status = read_enum<option_status>(r[9], parse_option_status);
    o.paid_at = opt_micros(r[10]);
    o.receipt_id = db::optional_text(r[11]);
    positions[pi].options.push_back(std::move(o));
    by_option.emplace(r[1].as<std::int64_t>(), std::pair{pi, positions[pi].options.size() - 1});
  }
  if (by_option.empty()) return;

  for (const auto& r : db::exec_prepared(w, transfers_sql, entity_param, id_param)) {
    const auto [pi, oi] = by_option.at(r[0].as<std::int64_t>());
    transfer t;
    t.index = r[1].as<int>();
    t.beneficiary_fiscal_code = r[2].as<std::string>();
    t.amount = r[3].as<std::int64_t>();
    t.iban = db::optional_text(r[4]);
    t.postal_iban = db::optional_text(r[5]);
    if (!r[6].is_null()) {
      t.stamp =
          revenue_stamp{r[6].as<std::string>(), r[7].as<std::string>(), r[8].as<std::string>()};
    }
    t.remittance_information = r[9].as<std::string>();
    t.taxonomy = r[10].as<std::string>();
    positions[pi].options[oi].transfers.push_back(std::move(t));
  }

  for (const auto& r : db::exec_prepared(w, accounting_sql, entity_param, id_param)) {
    const auto [pi, oi] = by_option.at(r[0].as<std::int64_t>());
    const int index = r[1].as<int>();
    for (transfer& t : positions[pi].options[oi].transfers) {
      if (t.index != index) continue;
      t.accounting.push_back(accounting_entry{r[2].as<std::string>(), r[3].as<std::string>(),
                                              r[4].as<int>(), r[5].as<std::string>(),
                                              r[6].as<std::int64_t>()});
      break;
    }
  }
}

std::optional<position> load_by_id(pqxx::dbtransaction& w, std::string_view entity_fc,
                                   std::int64_t id) {
  static const std::string sql = "SELECT " + position_columns() +
                                 " FROM positions p WHERE p.entity_fiscal_code = $1 AND p.id = $2";
  static const db::statement by_id{"positions.load_by_id", sql.c_str()};
  const pqxx::result r = db::exec_prepared(w, by_id, std::string(entity_fc), id);
  if (r.empty()) return std::nullopt;
  std::vector<position> one{read_position(r[0])};
  load_children(w, one);
  return std::move(one.front());
}

std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

std::string entity_array(const std::vector<std::string>& codes) {
  std::string out = "{";
  bool first = true;
  for (const std::string& c : codes) {
    if (c.size() != 11 || c.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!first) out += ',';
    out += c;
    first = false;
  }
  return out + "}";
}

boost::json::array metadata_document(const std::vector<std::pair<std::string, std::string>>& md,
                                     boost::json::storage_ptr sp) {
  boost::json::array doc(std::move(sp));
  doc.reserve(md.size());
  for (const auto& [k, v] : md) {
    auto& entry = doc.emplace_back(boost::json::object_kind).as_object();
    entry.emplace("key", boost::json::string_view(k.data(), k.size()));
    entry.emplace("value", boost::json::string_view(v.data(), v.size()));
  }
  return doc;
}

std::string metadata_json(const std::vector<std::pair<std::string, std::string>>& md) {
  return boost::json::serialize(metadata_document(md));
}

std::optional<core::error> payment_in_progress(pqxx::dbtransaction& w, std::string_view entity_fc,
                                               std::int64_t position_id, timestamp now) {
  static const std::string sql = "SELECT " + payment_in_progress_sql("$1", "$2", ts_param(3));
  static const db::statement in_progress{"positions.payment_in_progress", sql.c_str()};
  const pqxx::result r =
      db::exec_prepared(w, in_progress, std::string(entity_fc), position_id, to_micros(now));
  if (r[0][0].is_null()) return std::nullopt;
  return core::error{core::errc::conflict, r[0][0].as<std::string>(), ""};
}

void check_actor(const actor& by) {
  if (by.kind != "application" && by.kind != "operator" && by.kind != "admin" &&
      by.kind != "system") {
    throw std::invalid_argument("actor kind must be application, operator, admin or system");
  }
  if (by.id.empty() || by.id.size() > 128 || by.request_id.size() > 128) {
    throw std::invalid_argument("actor id must be 1..128 characters, request id at most 128");
  }
}

void record_event(pqxx::dbtransaction& w, const event_row& e, const actor& by) {
  std::optional<std::string> from;
  if (e.from) from = std::string(to_string(*e.from));
  std::optional<std::string> request;
  if (!by.request_id.empty()) request = by.request_id;
  static const std::string sql =
      "INSERT INTO position_events (entity_fiscal_code, position_id, event, from_status, "
      "to_status, notice_number, receipt_id, at, actor_kind, actor_id, request_id) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, " +
      ts_param(8) + ", $9, $10, $11)";
  static const db::statement insert_event{"positions.insert_event", sql.c_str()};
  db::exec_prepared(w, insert_event, std::string(e.entity_fc), e.position_id, std::string(e.event),
                    from, std::string(to_string(e.to)), e.notice_number, e.receipt_id,
                    to_micros(e.at), by.kind, by.id, request);
}

}  // namespace pagohub::positions::detail

namespace pagohub::positions {

debtor read_debtor(const pqxx::row& r, pqxx::row::size_type first) {
  debtor d;
  d.type = detail::read_enum<debtor_type>(r[first], parse_debtor_type);
  d.fiscal_code = r[first + 1].as<std::string>();
  d.full_name = r[first + 2].as<std::string>();
  d.street_name = db::optional_text(r[first + 3]);
  d.civic_number = db::optional_text(r[first + 4]);
  d.postal_code = db::optional_text(r[first + 5]);
  d.city = db::optional_text(r[first + 6]);
  d.state_province_region = db::optional_text(r[first + 7]);
  d.country = db::optional_text(r[first + 8]);
  d.email = db::optional_text(r[first + 9]);
  return d;
}

std::string payment_in_progress_sql(std::string_view entity, std::string_view position_id,
                                    std::string_view at) {
  return "(SELECT 'a payment of notice ' || b.notice_number || ' by PSP ' || b.psp_id || ' is in "
         "progress (2018 model): the position cannot change until its RT arrives, or until ' || "
         "to_char(b.locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
         "FROM rpt_payment_in_progress(" +
         std::string(entity) + ", " + std::string(position_id) + ", " + std::string(at) + ") b)";
}

}  // namespace pagohub::positions
