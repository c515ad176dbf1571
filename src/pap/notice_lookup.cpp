#include "notice_lookup.hpp"

#include <pagohub/db/prepared.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/store.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>

namespace pagohub::pap {

namespace {

// One row: the position, the option, and the option's transfers as a JSON array.
constexpr db::statement find_notice_statement{"pap.find_notice", R"sql(
SELECT p.id, p.external_id, p.status,
       (extract(epoch FROM p.validity_date) * 1000000)::bigint,
       p.debtor_type, p.debtor_fiscal_code, p.debtor_full_name, p.debtor_street_name,
       p.debtor_civic_number, p.debtor_postal_code, p.debtor_city,
       p.debtor_state_province_region, p.debtor_country, p.debtor_email,
       p.description, p.service_code, p.metadata::text,
       o.kind, o.instalment, o.iuv, o.amount, to_char(o.due_date, 'YYYY-MM-DD'), o.description,
       o.status, o.receipt_id,
       (SELECT coalesce(json_agg(json_build_array(t.transfer_index, t.beneficiary_fiscal_code,
                                                  t.amount, t.iban, t.postal_iban,
                                                  t.stamp_document_hash, t.stamp_type,
                                                  t.stamp_province, t.remittance_information,
                                                  t.taxonomy) ORDER BY t.transfer_index), '[]')
          FROM transfers t
         WHERE t.entity_fiscal_code = o.entity_fiscal_code AND t.option_id = o.id)::text,
       p.application_id, p.version
FROM payment_options o
JOIN positions p ON p.entity_fiscal_code = o.entity_fiscal_code AND p.id = o.position_id
WHERE o.entity_fiscal_code = $1 AND o.notice_number = $2
)sql"};

std::optional<std::string> json_text(const nlohmann::json& j) {
  return j.is_string() ? std::optional<std::string>(j.get<std::string>()) : std::nullopt;
}

}  // namespace

std::optional<std::string> stored_notice_of_iuv(pqxx::transaction_base& w,
                                                std::string_view entity_fc, std::string_view iuv) {
  static constexpr db::statement by_iuv{
      "pap.notice_of_iuv",
      "SELECT notice_number FROM payment_options WHERE entity_fiscal_code = $1 AND iuv = $2"};
  const pqxx::result r = db::exec_prepared(w, by_iuv, std::string(entity_fc), std::string(iuv));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<positions::position> find_notice(pqxx::transaction_base& w,
                                               std::string_view entity_fc,
                                               std::string_view notice_number) {
  const pqxx::result r = db::exec_prepared(w, find_notice_statement, std::string(entity_fc),
                                           std::string(notice_number));
  if (r.empty()) return std::nullopt;
  const pqxx::row row = r[0];
  positions::position p;
  p.id = row[0].as<std::int64_t>();
  p.entity_fiscal_code = std::string(entity_fc);
  p.external_id = row[1].c_str();
  // The receipt's outbox row carries it, so that routing need not look it up (sql/0023).
  p.application_id = row[26].c_str();
  // paaAttivaRPT compares it under the row lock: a change since this read is a stale answer.
  p.version = row[27].as<std::int64_t>();
  p.status =
      positions::parse_position_status(row[2].c_str()).value_or(positions::position_status::draft);
  if (!row[3].is_null()) {
    p.validity_date = positions::timestamp{std::chrono::microseconds{row[3].as<std::int64_t>()}};
  }
  p.payer = positions::read_debtor(row, 4);
  p.description = row[14].c_str();
  p.service_code = row[15].c_str();
  const auto meta = nlohmann::json::parse(row[16].c_str(), nullptr, false);
  if (meta.is_array()) {
    for (const auto& m : meta) p.metadata.emplace_back(m.value("key", ""), m.value("value", ""));
  }
  positions::payment_option o;
  o.kind = positions::parse_option_kind(row[17].c_str()).value_or(positions::option_kind::single);
  o.instalment = row[18].as<int>();
  o.notice_number = std::string(notice_number);
  o.iuv = row[19].c_str();
  o.amount = row[20].as<std::int64_t>();
  o.due_date = positions::parse_date(row[21].c_str()).value_or(positions::date{});
  o.description = row[22].c_str();
  o.status =
      positions::parse_option_status(row[23].c_str()).value_or(positions::option_status::unpaid);
  o.receipt_id = db::optional_text(row[24]);
  const auto transfers = nlohmann::json::parse(row[25].c_str(), nullptr, false);
  if (transfers.is_array()) {
    for (const auto& t : transfers) {
      positions::transfer x;
      x.index = t[0].get<int>();
      x.beneficiary_fiscal_code = t[1].get<std::string>();
      x.amount = t[2].get<std::int64_t>();
      x.iban = json_text(t[3]);
      x.postal_iban = json_text(t[4]);
      if (t[5].is_string()) {
        x.stamp = positions::revenue_stamp{t[5].get<std::string>(), json_text(t[6]).value_or(""),
                                           json_text(t[7]).value_or("")};
      }
      x.remittance_information = t[8].get<std::string>();
      x.taxonomy = t[9].get<std::string>();
      o.transfers.push_back(std::move(x));
    }
  }
  p.due_date = o.due_date;
  p.options.push_back(std::move(o));
  return p;
}

boost::asio::awaitable<std::optional<fault_bean>> consult_on_demand(
    const endpoint_deps& deps, const config::entity& entity, const std::string& notice_number,
    std::optional<positions::position>& found, const std::string& request_id,
    std::chrono::steady_clock::time_point received) {
  if (deps.on_demand == nullptr) co_return std::nullopt;
  auto resolved = co_await deps.on_demand->resolve(entity, notice_number, std::move(found),
                                                   request_id, received);
  if (!resolved) {
    found.reset();
    co_return make_fault(paa_fault::system_error, entity.fiscal_code.str(),
                         std::move(resolved).error().description);
  }
  found = *std::move(resolved);
  co_return std::nullopt;
}

}  // namespace pagohub::pap
