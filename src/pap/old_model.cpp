// The 2018 model (SANP 2.x, DIGEST §2.1): paaVerificaRPT, paaAttivaRPT, paaInviaRT, and the
// refund primitives answered "not supported yet".
#include <pagohub/core/text.hpp>
#include <pagohub/core/utc_time.hpp>
#include <pagohub/journal/event.hpp>
#include <pagohub/journal/record.hpp>
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

// The header names the station and the payment: the WSDL requires intestazionePPT with its five
// fields for every primitive but paaChiediNumeroAvviso (see wsdl/regenerate.sh for why the
// binding leaves them optional). A syntax fault comes before any check of the identifiers
// (DIGEST §8.1), so this runs first: a missing header is not a wrong broker.
std::optional<fault_bean> check_header(const ppt_header& h) {
  if (!h.broker_id.empty() && !h.station_id.empty() && !h.entity_fc.empty() && !h.iuv.empty() &&
      !h.ccp.empty())
    return std::nullopt;
  return make_fault(paa_fault::sintassi_extraxsd, h.entity_fc,
                    "intestazionePPT needs identificativoIntermediarioPA, "
                    "identificativoStazioneIntermediarioPA, identificativoDominio, "
                    "identificativoUnivocoVersamento and codiceContestoPagamento");
}

// Another PSP's payment of the notice, still running (DIGEST §0: PAA_PAGAMENTO_IN_CORSO, the
// 2018 model's lock). A PSP activates a payment with its own CCP, the station sends the RPT and
// the payment ends with the RT, positive or negative (the Nodo makes a negative one when the
// payment times out). Until then another PSP's verify or activation of the same IUV is refused,
// so that one notice is not collected twice. The lock lasts until the activation's
// locked_until (`rpt_lock_minutes` after it, fixed when it is made: sql/0030), in case the RT
// never comes, and ends when the RPT could not be sent at all. The back-office's writes of the
// position obey the same lock (positions::replace and cancel, bulk imports).
struct payment_in_progress {
  std::string psp_id;
  positions::timestamp since;
  positions::timestamp until;
  bool rt_held = false;  ///< its RT came, and waits for the position to be applied
};

std::int64_t micros(positions::timestamp t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::optional<payment_in_progress> find_payment_in_progress(pqxx::transaction_base& w,
                                                            const std::string& entity_fc,
                                                            const std::string& iuv,
                                                            const std::string& ccp,
                                                            positions::timestamp now) {
  // An activation whose RT came but is held (POSITION_BUSY: the position was locked, by a bulk
  // import for instance) is a payment made and not applied yet: its option is not PAID, so it
  // stays in progress past locked_until, until the held-receipts job applies the RT and ends
  // the activation (receipt_processing.cpp). Another PSP would otherwise collect it again.
  const pqxx::result r = w.exec_params(
      "SELECT a.psp_id, (extract(epoch FROM a.activated_at) * 1000000)::bigint, "
      "  coalesce((extract(epoch FROM a.locked_until) * 1000000)::bigint, 0), h.held "
      "FROM rpt_activations a "
      "CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM receipts r "
      "  WHERE r.entity_fiscal_code = a.entity_fiscal_code AND r.iuv = a.iuv "
      "    AND r.ccp = a.ccp AND r.source = 'paaInviaRT' AND r.anomaly = 'POSITION_BUSY') "
      "  AS held) h "
      "WHERE a.entity_fiscal_code = $1 AND a.iuv = $2 AND a.ccp <> $3 AND a.state = 'EXPECTED' "
      "AND (h.held OR (a.push_state <> 'FAILED' "
      "  AND a.locked_until > 'epoch'::timestamptz + $4 * interval '1 microsecond')) "
      "ORDER BY h.held DESC, a.locked_until DESC LIMIT 1",
      entity_fc, iuv, ccp, micros(now));
  if (r.empty()) return std::nullopt;
  const auto at = [&](int column) {
    return positions::timestamp{std::chrono::microseconds{r[0][column].as<std::int64_t>()}};
  };
  return payment_in_progress{r[0][0].c_str(), at(1), at(2), r[0][3].as<bool>()};
}

fault_bean in_progress_fault(const std::string& entity_fc, const std::string& iuv,
                             const payment_in_progress& p) {
  return make_fault(paa_fault::pagamento_in_corso, entity_fc,
                    "a payment of IUV " + iuv + " activated by PSP " + p.psp_id + " at " +
                        core::format_utc(p.since, 0) + " is in progress: " +
                        (p.rt_held ? std::string("its RT came and is being applied")
                                   : "it ends with its RT, or at " + core::format_utc(p.until, 0)));
}

struct old_lookup {
  std::optional<positions::position> found;
  std::string notice_number;
  std::optional<payment_in_progress> in_progress;
};

awaitable<old_lookup> load_by_iuv(handler_context& hc, const config::entity& e,
                                  const ppt_header& hd) {
  old_lookup out;
  const auto nav = notice_of_iuv(e, hd.iuv);
  out.notice_number = nav.value_or("");
  const auto now = hc.deps.clock.now();
  // Statements with no transaction block (executor::read): each answers on its own, and the
  // activation, which needs one view with its insert, is checked again under a lock.
  // Activations made while the lock was on keep it after `rpt_lock_minutes` becomes 0.
  std::tie(out.found, out.in_progress) = co_await hc.deps.db.read([&](pqxx::transaction_base& w) {
    const std::string fc = e.fiscal_code.str();
    auto found = nav ? find_notice(w, fc, *nav) : std::nullopt;
    if (!found) {
      // A notice issued before the entity's notice space changed: its stored option says
      // which number the IUV is (one more probe, only for IUVs the space does not explain).
      if (auto stored = stored_notice_of_iuv(w, fc, hd.iuv); stored && stored != nav) {
        found = find_notice(w, fc, *stored);
        if (found) out.notice_number = *stored;
      }
    }
    std::optional<payment_in_progress> busy;
    if (found) busy = find_payment_in_progress(w, hd.entity_fc, hd.iuv, hd.ccp, now);
    return std::make_pair(std::move(found), std::move(busy));
  });
  co_return out;
}

handled base(const ppt_header& h, const std::string& psp) {
  handled out;
  out.entity_fc = h.entity_fc;
  out.iuv = h.iuv;
  out.ccp = h.ccp;
  out.psp_id = psp;
  return out;
}

// An option whose every transfer is a marca da bollo has no account for the old model's
// required ibanAccredito: only the current model (paGetPaymentV2) can collect it.
// Why the RPT model cannot collect this option, or empty when it can. datiPagamentoPA's
// ibanAccredito is mandatory (DIGEST §2.1): an option paying only a marca da bollo digitale has
// none to give. And an RPT pays one domain (its enteBeneficiario): another entity's transfer
// would credit its account with no RT ever reaching it, multi-beneficiary payments being the
// carts' (nodoInviaCarrelloRPT, DIGEST §2.2), not one RPT's. The current model collects both.
std::string old_model_refusal(const positions::payment_option& o, const dati_pagamento_pa& dati,
                              const std::string& entity_fc) {
  for (const auto& t : o.transfers) {
    if (!t.beneficiary_fiscal_code.empty() && t.beneficiary_fiscal_code != entity_fc) {
      return "transfer " + std::to_string(t.index) + " credits another entity (" +
             t.beneficiary_fiscal_code +
             "), which an RPT, paying one domain, cannot carry: the notice is payable through "
             "the current model";
    }
  }
  if (dati.iban_accredito.empty()) {
    return "this notice pays only a marca da bollo digitale, which the RPT model cannot carry: "
           "it is payable through the current model";
  }
  return {};
}

handled refuse_in_old_model(operation op, handled h, const std::string& entity_fc,
                            std::string why) {
  h.fault = make_fault(paa_fault::semantica, entity_fc, std::move(why));
  h.xml = encode_fault(op, *h.fault);
  return h;
}

}  // namespace

awaitable<handled> handle_verifica_rpt(handler_context& hc, const request_info& ri,
                                       const verifica_rpt_request& rq) {
  constexpr auto op = operation::paa_verifica_rpt;
  const auto& hd = rq.header;
  const auto registry = hc.deps.registry.get();
  if (auto f = check_header(hd)) co_return fault_answer(op, *f, hd.entity_fc);
  auto entity = check_station(*registry, hc.self, hd.broker_id, hd.station_id, hd.entity_fc);
  if (!entity) co_return fault_answer(op, entity.error(), hd.entity_fc);
  auto look = co_await load_by_iuv(hc, **entity, hd);
  handled h = base(hd, rq.id_psp);
  h.notice_number = look.notice_number;
  if (!look.notice_number.empty() && !look.in_progress) {
    if (auto f = co_await consult_on_demand(hc.deps, **entity, look.notice_number, look.found,
                                            ri.request_id, ri.received))
      co_return fault_answer(op, *f, hd.entity_fc);
  }
  const auto p = find_payable(look.found, hd.entity_fc, look.notice_number, hc.deps.clock.now());
  if (!p) {
    h.fault = p.error();
    h.xml = encode_fault(op, p.error());
    co_return h;
  }
  if (look.in_progress) {
    h.fault = in_progress_fault(hd.entity_fc, hd.iuv, *look.in_progress);
    h.xml = encode_fault(op, *h.fault);
    co_return h;
  }
  dati_pagamento_pa dati = dati_pagamento_of(*p->option);
  if (auto why = old_model_refusal(*p->option, dati, hd.entity_fc); !why.empty())
    co_return refuse_in_old_model(op, std::move(h), hd.entity_fc, std::move(why));
  h.xml = encode(op, old_model_response{std::nullopt, std::move(dati), {}, {}, {}});
  co_return h;
}

awaitable<handled> handle_attiva_rpt(handler_context& hc, const request_info& ri,
                                     const attiva_rpt_request& rq) {
  constexpr auto op = operation::paa_attiva_rpt;
  const auto& hd = rq.header;
  const auto registry = hc.deps.registry.get();
  if (auto f = check_header(hd)) co_return fault_answer(op, *f, hd.entity_fc);
  auto entity = check_station(*registry, hc.self, hd.broker_id, hd.station_id, hd.entity_fc);
  if (!entity) co_return fault_answer(op, entity.error(), hd.entity_fc);
  handled h = base(hd, rq.id_psp);
  h.channel_id = rq.id_psp_channel;
  auto look = co_await load_by_iuv(hc, **entity, hd);
  h.notice_number = look.notice_number;
  // As paaVerificaRPT does: a PSP may activate without verifying first, and a notice known only
  // to its back-office (or whose amount it updates) must be asked for here too. Not while
  // another PSP's payment of it is in progress: its RPT is built from the position as it is.
  if (!look.notice_number.empty() && !look.in_progress) {
    if (auto f = co_await consult_on_demand(hc.deps, **entity, look.notice_number, look.found,
                                            ri.request_id, ri.received))
      co_return fault_answer(op, *f, hd.entity_fc);
  }
  const auto now = hc.deps.clock.now();
  const auto p = find_payable(look.found, hd.entity_fc, look.notice_number, now);
  if (!p) {
    h.fault = p.error();
    h.xml = encode_fault(op, p.error());
    co_return h;
  }
  const int lock_minutes = hc.deps.settings.rpt_lock_minutes;
  if (look.in_progress) {
    h.fault = in_progress_fault(hd.entity_fc, hd.iuv, *look.in_progress);
    h.xml = encode_fault(op, *h.fault);
    co_return h;
  }
  // DIGEST §2.1: the PSP proposes the amount; it must be the current one.
  const auto proposed = parse_amount(rq.amount, true);
  if (!proposed || *proposed != p->option->amount) {
    h.fault = make_fault(paa_fault::attiva_rpt_importo_non_valido, hd.entity_fc,
                         "the amount proposed (" + rq.amount + ") is not the amount due (" +
                             core::format_decimal_amount(p->option->amount) + ")");
    h.xml = encode_fault(op, *h.fault);
    co_return h;
  }
  const dati_pagamento_pa dati = dati_pagamento_of(*p->option);
  if (auto why = old_model_refusal(*p->option, dati, hd.entity_fc); !why.empty())
    co_return refuse_in_old_model(op, std::move(h), hd.entity_fc, std::move(why));
  // SANP2 §8.2.3.2: a repeat with the same (IUV, CCP) finds the activation and generates no new
  // RPT, but the one generated the first time is sent again (the repeat may mean the Nodo never
  // got it; a copy it already has is answered PPT_RPT_DUPLICATA, which counts as sent).
  const std::int64_t position_id = p->position->id;
  const std::string notice = look.notice_number;
  const auto& rules =
      hc.deps.rules != nullptr ? *hc.deps.rules : journal::payload_rules::defaults();
  // ARCHITECTURE §5: the activation's row and its INTERNO event commit together. The event
  // says whether the activation is new or an existing one was re-armed for another push.
  const auto activation_event = [&](pqxx::work& w, const char* subtype) {
    journal::event e;
    e.time = now;
    e.cat = journal::category::interno;
    e.entity_fc = hd.entity_fc;
    e.iuv = hd.iuv;
    e.ccp = hd.ccp;
    e.psp_id = rq.id_psp;
    e.payment_type = "PO";
    e.component = "pap";
    e.type = "rptActivation";
    e.subtype = subtype;
    e.caller_id = "pap";
    e.provider_id = "pap";
    e.station_id = hd.station_id;
    e.channel_id = rq.id_psp_channel;
    e.outcome = "OK";
    e.request_id = ri.request_id;
    e.notice_number = notice;
    e.by = journal::actor{"nodo", "NodoDeiPagamentiSPC"};
    e.interface_params =
        core::utf8_cut("amount=" + core::format_decimal_amount(dati.amount) +
                           " psp_broker=" + rq.id_psp_broker + " push_state=PENDING",
                       512);
    journal::record_internal(w, e, rules);
  };
  struct activation_outcome {
    bool changed = false;
    bool stale = false;  // the position changed since it was read: the answer would be old
    std::optional<payment_in_progress> busy;
    std::string changed_since;  // a repeat whose activation no longer matches the position
  };
  const std::int64_t read_version = p->position->version;
  const activation_outcome done = co_await hc.deps.db.transact([&](pqxx::work& w) {
    activation_outcome out;
    // Two PSPs activating the same IUV at once: the position's row lock orders them, and the
    // second sees the first's activation. FOR NO KEY UPDATE leaves the rows that reference the
    // position (receipts, outbox messages) free to be written meanwhile.
    // The same lock orders an activation after a back-office's replacement or cancellation of
    // the position, which would otherwise change the amounts under the RPT. One that committed
    // after the position was read above changed its version: the amounts and account checked
    // and recorded here would be the old ones, so the PSP is asked to try again.
    const auto locked = w.exec_params(
        "SELECT version FROM positions WHERE entity_fiscal_code = $1 AND id = $2 "
        "FOR NO KEY UPDATE",
        hd.entity_fc, position_id);
    if (locked.empty() || locked[0][0].as<std::int64_t>() != read_version) {
      out.stale = true;
      return out;
    }
    out.busy = find_payment_in_progress(w, hd.entity_fc, hd.iuv, hd.ccp, now);
    if (out.busy) return out;
    std::optional<std::int64_t> locked_until;
    if (lock_minutes > 0) locked_until = micros(now + std::chrono::minutes{lock_minutes});
    const auto r = w.exec_params(
        "INSERT INTO rpt_activations (entity_fiscal_code, iuv, ccp, notice_number, position_id, "
        "psp_id, psp_broker_id, channel_id, amount, iban, activated_at, request_id, "
        "locked_until) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "'epoch'::timestamptz + $11 * interval '1 microsecond', $12, "
        "'epoch'::timestamptz + $13 * interval '1 microsecond') "
        "ON CONFLICT DO NOTHING RETURNING id",
        hd.entity_fc, hd.iuv, hd.ccp, notice, position_id, rq.id_psp, rq.id_psp_broker,
        rq.id_psp_channel, dati.amount, dati.iban_accredito, micros(now), ri.request_id,
        locked_until);
    if (!r.empty()) {
      activation_event(w, "created");
      out.changed = true;
      return out;
    }
    // A repeat re-sends the RPT made at the first activation (push_service keeps it). Once
    // the lock lapsed the back-office may have changed the position: an answer from the
    // position as it is now would tell the PSP one account while the RPT credits another.
    // The PSP starts a new payment (a new CCP) instead.
    const auto first = w.exec_params(
        "SELECT amount, iban FROM rpt_activations "
        "WHERE entity_fiscal_code = $1 AND iuv = $2 AND ccp = $3",
        hd.entity_fc, hd.iuv, hd.ccp);
    if (!first.empty() && (first[0][0].as<std::int64_t>() != dati.amount ||
                           first[0][1].as<std::string>() != dati.iban_accredito)) {
      out.changed_since = "the activation of IUV " + hd.iuv + " with CCP " + hd.ccp +
                          " was made for " +
                          core::format_decimal_amount(first[0][0].as<std::int64_t>()) +
                          " to account " + first[0][1].as<std::string>() +
                          ", and the position has changed since: start a new payment";
      return out;
    }
    // Re-armed only when no attempt is due or in flight, and the RT has not closed it.
    const auto u = w.exec_params(
        "UPDATE rpt_activations SET push_state = 'PENDING', next_attempt_at = NULL, "
        "push_attempts = 0, last_error = NULL "
        "WHERE entity_fiscal_code = $1 AND iuv = $2 AND ccp = $3 AND state = 'EXPECTED' "
        "AND push_state IN ('SENT', 'FAILED')",
        hd.entity_fc, hd.iuv, hd.ccp);
    if (u.affected_rows() == 0) return out;
    activation_event(w, "rearmed");
    out.changed = true;
    return out;
  });
  if (done.stale) {
    h.fault = make_fault(paa_fault::system_error, hd.entity_fc,
                         "the position of IUV " + hd.iuv +
                             " changed while the activation was being recorded; try again");
    h.xml = encode_fault(op, *h.fault);
    co_return h;
  }
  if (done.busy) {
    h.fault = in_progress_fault(hd.entity_fc, hd.iuv, *done.busy);
    h.xml = encode_fault(op, *h.fault);
    co_return h;
  }
  if (!done.changed_since.empty())
    co_return refuse_in_old_model(op, std::move(h), hd.entity_fc, done.changed_since);
  // A new or re-armed activation is a state change: its INTERFACCIA pair is never dropped.
  h.changed_state = done.changed;
  h.xml = encode(op, old_model_response{std::nullopt, dati, {}, {}, {}});
  co_return h;
}

awaitable<handled> handle_invia_rt(handler_context& hc, const request_info& ri,
                                   const invia_rt_request& rq) {
  constexpr auto op = operation::paa_invia_rt;
  const auto& hd = rq.header;
  const auto registry = hc.deps.registry.get();
  if (auto f = check_header(hd)) co_return fault_answer(op, *f, hd.entity_fc);
  auto entity = check_station(*registry, hc.self, hd.broker_id, hd.station_id, hd.entity_fc,
                              call_purpose::receipt);
  if (!entity) co_return fault_answer(op, entity.error(), hd.entity_fc);
  // The RT is an XML object inside a field: its own schema, PAA_SINTASSI_XSD (DIGEST §0).
  auto doc = nodo::xml_document::parse(rq.rt);
  if (!doc) {
    co_return fault_answer(
        op, make_fault(paa_fault::sintassi_xsd, hd.entity_fc, "rt: " + doc.error().message),
        hd.entity_fc);
  }
  if (auto ok = hc.rt_schema->validate(*doc); !ok) {
    co_return fault_answer(
        op, make_fault(paa_fault::sintassi_xsd, hd.entity_fc, "rt " + ok.error().message),
        hd.entity_fc);
  }
  xmlNode* root = doc->root();
  const std::string dominio =
      nodo::find_text(nodo::find_element(root, "dominio"), "identificativoDominio").value_or("");
  xmlNode* dati = nodo::find_element(root, "datiPagamento");
  const std::string iuv = nodo::find_text(dati, "identificativoUnivocoVersamento").value_or("");
  const std::string ccp = nodo::find_text(dati, "CodiceContestoPagamento").value_or("");
  if (dominio != hd.entity_fc || iuv != hd.iuv || ccp != hd.ccp) {
    co_return fault_answer(
        op,
        make_fault(paa_fault::semantica, hd.entity_fc,
                   "the RT's identificativoDominio, IUV and CodiceContestoPagamento "
                   "must be those of intestazionePPT"),
        hd.entity_fc);
  }
  const auto now = hc.deps.clock.now();
  const std::string esito = nodo::find_text(dati, "codiceEsitoPagamento").value_or("");
  xmlNode* attestante = nodo::find_element(root, "istitutoAttestante");

  receipt_record rec;
  rec.entity_fc = hd.entity_fc;
  rec.receipt_id = rt_receipt_key(iuv, ccp);
  rec.source = receipt_source::paa_invia_rt;
  rec.received_at = now;
  rec.request_id = ri.request_id;
  rec.raw_message = std::string(ri.raw);
  rec.iuv = iuv;
  rec.ccp = ccp;
  rec.primary_fiscal_code = hd.entity_fc;
  rec.outcome = esito == "0" ? "OK" : "KO";
  if (auto total = nodo::find_text(dati, "importoTotalePagato")) {
    if (auto c = core::parse_decimal_amount(*total)) rec.amount = *c;
  }
  if (auto when = nodo::find_text(root, "dataOraMessaggioRicevuta"))
    rec.payment_date_time = parse_xsd_datetime(*when);
  rec.psp_id = nodo::find_text(attestante, "codiceIdentificativoUnivoco");
  rec.psp_name = nodo::find_text(attestante, "denominazioneAttestante");
  nlohmann::json details = {{"codiceEsitoPagamento", esito.size() == 1 ? esito : "?"}};
  // The PSP's own identifier of the RT, kept for the record (it is not the key: rt_receipt_key).
  if (auto id = nodo::find_text(root, "identificativoMessaggioRicevuta"))
    details["identificativoMessaggioRicevuta"] = *id;
  // The RT's datiSingoloPagamento, one per datiSingoloVersamento of the RPT in its order: the
  // transfers of the receipt as the REST API and the webhooks show them (with the option's
  // accounting entries by index), under the names a paSendRT's transfers have.
  nlohmann::json transfers = nlohmann::json::array();
  int index = 0;
  for (xmlNode* single : nodo::child_elements(dati, "datiSingoloPagamento")) {
    nlohmann::json t = {{"idTransfer", ++index}, {"fiscalCodePA", hd.entity_fc}};
    if (auto amount = nodo::find_text(single, "singoloImportoPagato")) {
      if (auto c = core::parse_decimal_amount(*amount)) t["amount"] = *c;
    }
    if (auto why = nodo::find_text(single, "causaleVersamento")) t["remittanceInformation"] = *why;
    if (auto category = nodo::find_text(single, "datiSpecificiRiscossione"))
      t["transferCategory"] = *category;
    transfers.push_back(std::move(t));
  }
  if (!transfers.empty()) details["transfers"] = std::move(transfers);
  rec.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (auto nav = notice_of_iuv(**entity, iuv)) rec.notice_number = *nav;

  receipt_facts facts;
  facts.entity_fc = hd.entity_fc;
  facts.primary_fc = hd.entity_fc;
  facts.notice_number = rec.notice_number.value_or("");
  // The option records the CCP: for payments converted from the current model it is the
  // payment token (DIGEST §2), the same receiptId a paSendRT would carry.
  facts.receipt_id = ccp;
  facts.outcome_ok = esito == "0";
  facts.amount = rec.amount.value_or(0);
  facts.paid_at = rec.payment_date_time.value_or(now);

  const auto& rules =
      hc.deps.rules != nullptr ? *hc.deps.rules : journal::payload_rules::defaults();
  const receipt_outcome outcome = co_await hc.deps.db.transact([&](pqxx::work& w) {
    // The stored option with this IUV names its notice, also one issued before the entity's
    // notice space changed, which the number the space makes of the IUV would miss (the RT
    // would then be kept as a receipt of an unknown notice, its option left unpaid).
    if (auto stored = stored_notice_of_iuv(w, hd.entity_fc, iuv)) {
      rec.notice_number = *stored;
      facts.notice_number = *stored;
    }
    auto o = store_and_apply(w, rec, facts, rules, now);
    if (o.duplicate) return o;
    // A held RT (POSITION_BUSY) leaves its activation in progress until the held-receipts job
    // applies it (find_payment_in_progress): its option is not PAID yet.
    if (o.flagged == anomaly::position_busy) return o;
    close_rpt_activation(w, hd.entity_fc, iuv, ccp);
    return o;
  });
  handled h = base(hd, rec.psp_id.value_or(""));
  h.notice_number = rec.notice_number.value_or("");
  h.changed_state = !outcome.duplicate || !outcome.conflict.empty();
  if (outcome.duplicate) {
    // DIGEST §2.1: the old model rejects duplicates with PAA_RT_DUPLICATA.
    h.fault = make_fault(paa_fault::rt_duplicata, hd.entity_fc,
                         "an RT for IUV " + iuv + " and CCP " + ccp + " was already accepted");
    h.xml = encode_fault(op, *h.fault);
    co_return h;
  }
  h.xml = encode(op, old_model_response{});
  co_return h;
}

handled handle_refund(handler_context& hc, operation op, const refund_request& rq) {
  const auto registry = hc.deps.registry.get();
  if (op == operation::paa_invia_esito_storno) {
    auto entity = check_station(*registry, hc.self, rq.broker_id, rq.station_id, rq.entity_fc);
    if (!entity) return fault_answer(op, entity.error(), rq.entity_fc);
  } else {
    // paaInviaRichiestaRevoca names no broker or station: an enabled entity of the registry is
    // served here, through the daemon's station or a station of its own.
    const config::entity* e = registry->find(rq.entity_fc);
    if (e == nullptr || !e->enabled) {
      return fault_answer(op,
                          make_fault(paa_fault::id_dominio_errato, rq.entity_fc,
                                     "entity " + rq.entity_fc + " is not served by this station"),
                          rq.entity_fc);
    }
  }
  // Storno and revoca (DIGEST §2.5) arrive with the refunds module; until then the Nodo gets a
  // clear, final answer rather than a silent acceptance.
  handled h = fault_answer(
      op,
      make_fault(paa_fault::semantica, rq.entity_fc,
                 std::string(name_of(op)) + " is not supported by this station yet: refunds are "
                                            "handled by the entity's offices"),
      rq.entity_fc);
  h.iuv = rq.iuv;
  h.ccp = rq.ccp;
  return h;
}

}  // namespace pagohub::pap
