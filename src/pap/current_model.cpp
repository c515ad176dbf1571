// paVerifyPaymentNotice, paGetPayment(V2), paSendRT(V2): DIGEST §1.1-§1.3.
#include <pagohub/core/notice_number.hpp>
#include <pagohub/core/text.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/store.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "codec.hpp"
#include "handlers.hpp"
#include "notice_lookup.hpp"
#include "payment_adapters.hpp"
#include "receipt_processing.hpp"
#include "text_parsers.hpp"

namespace pagohub::pap {

namespace {

awaitable<std::optional<positions::position>> load_position(handler_context& hc,
                                                            const std::string& entity_fc,
                                                            const std::string& notice_number) {
  // One statement, so no transaction block: one round trip instead of BEGIN, SELECT, COMMIT.
  co_return co_await hc.deps.db.read(
      [&](pqxx::transaction_base& w) { return find_notice(w, entity_fc, notice_number); });
}

// qrCode.fiscalCode names the notice's entity, idPA the entity the request is for: the same.
std::optional<fault_bean> check_qr(const station_ids& ids, const std::string& qr_fiscal_code) {
  if (ids.id_pa == qr_fiscal_code) return std::nullopt;
  return make_fault(paa_fault::semantica, ids.id_pa,
                    "qrCode.fiscalCode " + qr_fiscal_code + " differs from idPA " + ids.id_pa);
}

nlohmann::json subject_json(const subject& s) {
  nlohmann::json j = {{"type", s.type}, {"fiscalCode", s.value}, {"fullName", s.full_name}};
  if (s.street_name) j["streetName"] = *s.street_name;
  if (s.civic_number) j["civicNumber"] = *s.civic_number;
  if (s.postal_code) j["postalCode"] = *s.postal_code;
  if (s.city) j["city"] = *s.city;
  if (s.state_province_region) j["stateProvinceRegion"] = *s.state_province_region;
  if (s.country) j["country"] = *s.country;
  if (s.email) j["email"] = *s.email;
  return j;
}

nlohmann::json metadata_json(const metadata& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, v] : m) out.push_back({{"key", k}, {"value", v}});
  return out;
}

std::optional<core::amount_cents> cents_of(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto c = core::parse_decimal_amount(*text);
  return c ? std::optional<core::amount_cents>(*c) : std::nullopt;
}

// The receipt as stored: key columns, interpreted values, and the rest as JSON details.
receipt_record record_of(const send_rt_request& rq, const request_info& ri,
                         positions::timestamp now) {
  const receipt& r = rq.r;
  receipt_record rec;
  rec.entity_fc = rq.ids.id_pa;
  rec.receipt_id = receipt_key(r.receipt_id, ri.raw);
  rec.source = rq.v2 ? receipt_source::pa_send_rt_v2 : receipt_source::pa_send_rt;
  rec.received_at = now;
  rec.request_id = ri.request_id;
  rec.raw_message = std::string(ri.raw);
  rec.notice_number = r.notice_number;
  rec.iuv = r.creditor_reference_id;
  rec.primary_fiscal_code = r.fiscal_code;
  rec.outcome = r.outcome;
  rec.amount = cents_of(r.payment_amount);
  rec.fee = cents_of(r.fee);
  if (r.payment_date_time) rec.payment_date_time = parse_xsd_datetime(*r.payment_date_time);
  if (r.application_date) rec.application_date = positions::parse_date(*r.application_date);
  if (r.transfer_date) rec.transfer_date = positions::parse_date(*r.transfer_date);
  rec.psp_id = r.id_psp;
  rec.psp_name = r.psp_company_name;
  rec.psp_fiscal_code = r.psp_fiscal_code;
  rec.channel_id = r.id_channel;
  rec.payment_method = r.payment_method;
  rec.stand_in = r.stand_in;
  nlohmann::json transfers = nlohmann::json::array();
  for (const auto& t : r.transfers) {
    nlohmann::json j = {{"idTransfer", t.id_transfer},
                        {"amount", cents_of(t.amount).value_or(0)},
                        {"fiscalCodePA", t.fiscal_code_pa},
                        {"remittanceInformation", t.remittance_information},
                        {"transferCategory", t.transfer_category}};
    if (t.company_name) j["companyName"] = *t.company_name;
    if (t.iban) j["iban"] = *t.iban;
    if (t.mbd_attachment) j["revenueStamp"] = true;
    if (!t.meta.empty()) j["metadata"] = metadata_json(t.meta);
    transfers.push_back(std::move(j));
  }
  nlohmann::json details = {{"description", r.description},
                            {"companyName", r.company_name},
                            {"channelDescription", r.channel_description},
                            {"debtor", subject_json(r.debtor)},
                            {"transfers", std::move(transfers)}};
  if (r.office_name) details["officeName"] = *r.office_name;
  if (r.payer) details["payer"] = subject_json(*r.payer);
  if (r.psp_partita_iva) details["pspPartitaIva"] = *r.psp_partita_iva;
  if (r.payment_note) details["paymentNote"] = *r.payment_note;
  if (r.primary_ci_incurred_fee)
    details["primaryCiIncurredFee"] = cents_of(r.primary_ci_incurred_fee).value_or(0);
  if (r.id_bundle) details["idBundle"] = *r.id_bundle;
  if (r.id_ci_bundle) details["idCiBundle"] = *r.id_ci_bundle;
  if (!r.meta.empty()) details["metadata"] = metadata_json(r.meta);
  // A receipt stored under a key of our own keeps its receiptId as sent (the raw message has
  // it whole).
  if (rec.receipt_id != r.receipt_id)
    details["receiptIdAsSent"] = core::utf8_cut(r.receipt_id, 4096);
  rec.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return rec;
}

receipt_facts facts_of(const send_rt_request& rq, const receipt_record& rec,
                       positions::timestamp now) {
  receipt_facts f;
  f.entity_fc = rq.ids.id_pa;
  f.primary_fc = rq.r.fiscal_code;
  f.notice_number = rq.r.notice_number;
  f.receipt_id = rec.receipt_id;
  f.outcome_ok = rq.r.outcome == "OK";
  f.stand_in = rq.r.stand_in;
  f.amount = rec.amount.value_or(0);
  for (const auto& t : rq.r.transfers)
    f.transfers.push_back({t.id_transfer, cents_of(t.amount).value_or(0), t.fiscal_code_pa});
  f.paid_at = rec.payment_date_time.value_or(now);
  return f;
}

}  // namespace

handled fault_answer(operation op, fault_bean fault, std::string entity_fc) {
  handled h;
  h.xml = encode_fault(op, fault);
  h.entity_fc = std::move(entity_fc);
  h.fault = std::move(fault);
  return h;
}

namespace {

// The steps paVerifyPaymentNotice and paGetPayment(V2) share (DIGEST §1.1-§1.2): the station's
// checks, the QR code's entity, the notice's position (asked of the back-office first when its
// service is on demand), and the option that may be paid now. `answer(h, entity, registry, p)`
// writes the reply for a payable option into h.
template <class Request, class Answer>
awaitable<handled> answer_payable(handler_context& hc, const request_info& ri, operation op,
                                  const Request& rq, Answer answer) {
  const auto registry = hc.deps.registry.get();
  auto entity =
      check_station(*registry, hc.self, rq.ids.id_broker_pa, rq.ids.id_station, rq.ids.id_pa);
  if (!entity) co_return fault_answer(op, entity.error(), rq.ids.id_pa);
  if (auto f = check_qr(rq.ids, rq.fiscal_code)) co_return fault_answer(op, *f, rq.ids.id_pa);
  auto found = co_await load_position(hc, rq.ids.id_pa, rq.notice_number);
  if (auto f = co_await consult_on_demand(hc.deps, **entity, rq.notice_number, found, ri.request_id,
                                          ri.received))
    co_return fault_answer(op, *f, rq.ids.id_pa);
  const auto p = find_payable(found, rq.ids.id_pa, rq.notice_number, hc.deps.clock.now());
  handled h;
  h.entity_fc = rq.ids.id_pa;
  h.notice_number = rq.notice_number;
  // The journal's IUV (SANP: identificativoUnivocoVersamento, required) on a KO answer too:
  // the notice number holds it, whether or not a position was found.
  if (auto nav = core::notice_number::parse(rq.notice_number)) h.iuv = nav->iuv();
  if (!p) {
    h.fault = p.error();
    h.xml = encode_fault(op, p.error());
    co_return h;
  }
  h.iuv = p->option->iuv;
  answer(h, **entity, *registry, *p);
  co_return h;
}

}  // namespace

awaitable<handled> handle_verify(handler_context& hc, const request_info& ri,
                                 const verify_request& rq) {
  co_return co_await answer_payable(
      hc, ri, operation::pa_verify_payment_notice, rq,
      [](handled& h, const config::entity& entity, const auto&, const payable& p) {
        h.xml = encode(build_verify(entity, p));
      });
}

awaitable<handled> handle_get_payment(handler_context& hc, const request_info& ri,
                                      const get_payment_request& rq) {
  const auto op = rq.v2 ? operation::pa_get_payment_v2 : operation::pa_get_payment;
  co_return co_await answer_payable(
      hc, ri, op, rq,
      [&rq](handled& h, const config::entity& entity, const auto& registry, const payable& p) {
        auto answer = build_get_payment(entity, registry, p, rq);
        h.fault = answer.fault;
        h.xml = encode(answer);
      });
}

awaitable<handled> handle_send_rt(handler_context& hc, const request_info& ri,
                                  const send_rt_request& rq) {
  const auto op = rq.v2 ? operation::pa_send_rt_v2 : operation::pa_send_rt;
  const auto registry = hc.deps.registry.get();
  auto entity = check_station(*registry, hc.self, rq.ids.id_broker_pa, rq.ids.id_station,
                              rq.ids.id_pa, call_purpose::receipt);
  if (!entity) co_return fault_answer(op, entity.error(), rq.ids.id_pa);
  const auto now = hc.deps.clock.now();
  const receipt_record rec = record_of(rq, ri, now);
  const receipt_facts facts = facts_of(rq, rec, now);
  const auto& rules =
      hc.deps.rules != nullptr ? *hc.deps.rules : journal::payload_rules::defaults();
  // DIGEST §1.3: stored and applied in one transaction; the OK goes out only after the
  // commit (transact returns after it).
  const receipt_outcome outcome = co_await hc.deps.db.transact(
      [&](pqxx::work& w) { return store_and_apply(w, rec, facts, rules, now); });
  handled h;
  h.entity_fc = rq.ids.id_pa;
  h.notice_number = rq.r.notice_number;
  h.iuv = rq.r.creditor_reference_id;
  h.ccp = rec.receipt_id;
  h.psp_id = rq.r.id_psp;
  h.channel_id = rq.r.id_channel;
  // A re-delivery that differs from the stored receipt keeps its exchange too (never dropped).
  h.changed_state = !outcome.duplicate || !outcome.conflict.empty();
  if (outcome.duplicate && hc.deps.settings.duplicate_receipt_fault) {
    h.fault = make_fault(paa_fault::receipt_duplicata, rq.ids.id_pa,
                         "receipt " + rec.receipt_id + " was already acquired");
    h.xml = encode_fault(op, *h.fault);
    co_return h;
  }
  h.xml = encode(send_rt_response{std::nullopt, rq.v2});
  co_return h;
}

}  // namespace pagohub::pap
