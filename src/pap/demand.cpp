// Payments on demand: paDemandPaymentNotice (DIGEST §1.4, "modello 4") and the 2018 model's
// paaChiediNumeroAvviso (§2.1). The citizen starts a payment for a spontaneous service at a PSP;
// the service data (base64 XML) is validated against the service's schema, a position is created
// (or, for a repeated request, found) with its notice number, and the answer carries it.
#include <pagohub/config/error.hpp>
#include <pagohub/core/fiscal_code.hpp>
#include <pagohub/core/text.hpp>
#include <pagohub/journal/canonical.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/store.hpp>

#include <libxml/tree.h>
#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "codec.hpp"
#include "handlers.hpp"
#include "payment_adapters.hpp"

namespace pagohub::pap {

namespace {

// The owner recorded on positions created on demand: no back-office application asked for
// them, pagoPA did.
constexpr std::string_view demand_application = "pagopa-demand";

struct service_match {
  const config::service* service = nullptr;
  std::shared_ptr<const nodo::xsd_schema> schema;
};

// Reads the debtor from the service data when the schema has the Catalogo Servizi's usual
// fields (codiceFiscalePagatore, denominazionePagatore); anonymous otherwise.
positions::debtor debtor_of(const nodo::xml_document& doc) {
  positions::debtor d;
  const auto cf = nodo::find_text(doc.root(), "codiceFiscalePagatore");
  const auto name = nodo::find_text(doc.root(), "denominazionePagatore");
  std::string code = cf.value_or("");
  for (char& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (core::is_valid_person_fiscal_code(code)) {
    d.type = positions::debtor_type::person;
    d.fiscal_code = code;
  } else if (core::is_valid_vat_number(code)) {
    d.type = positions::debtor_type::legal;
    d.fiscal_code = code;
  } else {
    d.fiscal_code = std::string(positions::anonymous_debtor);
  }
  d.full_name = name && !name->empty() ? core::utf8_cut(*name, 70) : "Anonimo";
  return d;
}

// Numbered variants of one demand's external id tried before giving up: a same-day repeat of a
// request whose notice was already paid (or cancelled) gets the next one.
constexpr int max_demand_variants = 100;

// The external id of a demand: "DEM" and the first 24 hex digits of SHA-256 over the entity,
// the service, the service data exactly as received and today's date in Europe/Rome. The Nodo
// repeats a paDemandPaymentNotice it got no answer to (DIGEST §1.4: the EC "creates (or finds)"
// the position), and the repeat must name the same position, not leave another notice behind;
// the same request on another day is a new payment.
std::string demand_external_id(const config::entity& entity, const config::service& service,
                               std::string_view data, positions::date today) {
  std::string in;
  const auto put = [&in](std::string_view field) {
    // Length-prefixed: no two different field lists give the same bytes.
    in += std::to_string(field.size());
    in += ':';
    in += field;
  };
  put(entity.fiscal_code.str());
  put(service.catalog_id);
  put(service.code);
  put(positions::format_date(today));
  put(data);
  return "DEM" + journal::to_hex(journal::sha256(in)).substr(0, 24);
}

// The external id of the demand's n-th variant: the key itself, then "<key>-2", "<key>-3"...
std::string variant_id(const std::string& key, int n) {
  return n == 1 ? key : key + "-" + std::to_string(n);
}

// The n of variant_id(key, n) == id (0 when it is none of them).
int variant_of(const std::string& key, std::string_view id) {
  if (id == key) return 1;
  if (!id.starts_with(key + "-")) return 0;
  int n = 0;
  const auto digits = id.substr(key.size() + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return ec == std::errc() && end == digits.data() + digits.size() ? n : 0;
}

// The position answering a demand, and whether this call created it.
struct demanded {
  positions::position position;
  bool created = false;
};

// Finds the payable position of an identical earlier demand of today, or creates and publishes
// a new one, in one transaction. Two identical demands at once: the second one's insert waits
// for the first and then finds its position (create_only).
awaitable<core::result<demanded>> demand_position(handler_context& hc, const config::entity& entity,
                                                  const config::service& service,
                                                  positions::debtor debtor, std::string_view data,
                                                  const std::string& request_id) {
  const auto now = hc.deps.clock.now();
  const positions::date today = positions::rome_date(now);
  const std::string key = demand_external_id(entity, service, data, today);
  positions::position p;
  p.payer = std::move(debtor);
  p.description = core::utf8_cut(service.description, 140);
  p.service_code = service.code;
  p.reference_year = static_cast<int>(today.year());
  positions::payment_option o;
  o.kind = positions::option_kind::single;
  o.amount = service.demand_amount;
  o.due_date = std::chrono::sys_days{today} + std::chrono::days{hc.deps.settings.demand_due_days};
  o.description = core::utf8_cut(service.description, 140);
  positions::transfer t;
  t.index = 1;
  t.amount = service.demand_amount;
  t.remittance_information = core::utf8_cut(service.description, 140);
  o.transfers.push_back(std::move(t));
  p.options.push_back(std::move(o));
  const positions::actor by{"system", "pap", request_id};
  const std::string app(demand_application);
  const std::string fc = entity.fiscal_code.str();
  co_return co_await hc.deps.db.transact([&](pqxx::work& w) -> core::result<demanded> {
    // Variants are made in order, each only once the one before is no longer payable (paid,
    // cancelled and expired are final): the newest is the only one that may still be payable.
    // One statement finds it among every possible id (the unique key's index, by equality).
    std::string candidates = "{";
    for (int n = 1; n <= max_demand_variants; ++n) {
      if (n > 1) candidates += ',';
      candidates += variant_id(key, n);
    }
    candidates += '}';
    const auto rows = w.exec_params(
        "SELECT external_id FROM positions WHERE entity_fiscal_code = $1 AND application_id = $2 "
        "AND external_id = ANY($3::text[])",
        fc, app, candidates);
    int newest = 0;
    for (const auto& row : rows) newest = std::max(newest, variant_of(key, row[0].c_str()));
    for (int n = std::max(newest, 1); n <= max_demand_variants; ++n) {
      const std::string id = variant_id(key, n);
      auto found = n > newest ? std::nullopt : positions::find_by_external_id(w, fc, app, id);
      if (!found) {
        positions::position fresh = p;
        fresh.external_id = id;
        auto made = positions::create_only(w, entity, app, std::move(fresh), by, now);
        if (!made) return std::unexpected(made.error());
        if (*made) {
          auto published = positions::publish(w, fc, app, id, by, now);
          if (!published) return std::unexpected(published.error());
          return demanded{std::move(*published), true};
        }
        // Created by an identical demand that committed meanwhile.
        found = positions::find_by_external_id(w, fc, app, id);
      }
      // Still payable: the repeat of a demand already answered gets the same notice. Paid,
      // cancelled or expired: the citizen asks for a new payment, under the next variant.
      const bool payable = found && !found->options.empty() &&
                           find_payable(found, fc, found->options.front().notice_number, now);
      if (payable) return demanded{std::move(*found), false};
    }
    return core::fail(core::errc::conflict, "too many demands with these data today (" + key + ")");
  });
}

// Parses and validates the service data; the fault is PAA_SINTASSI_XSD (DIGEST §0: an XML
// object inside a field).
std::expected<nodo::xml_document, fault_bean> service_data(std::string_view xml,
                                                           const nodo::xsd_schema* schema,
                                                           const std::string& entity_fc) {
  auto doc = nodo::xml_document::parse(xml);
  if (!doc) {
    return std::unexpected(make_fault(paa_fault::sintassi_xsd, entity_fc,
                                      "datiSpecificiServizio: " + doc.error().message));
  }
  if (schema != nullptr) {
    if (auto ok = schema->validate(*doc); !ok) {
      return std::unexpected(make_fault(paa_fault::sintassi_xsd, entity_fc,
                                        "datiSpecificiServizio " + ok.error().message));
    }
  }
  return std::move(*doc);
}

}  // namespace

compiled_schema compile_service_schema(const std::string& path) {
  auto schema = nodo::xsd_schema::from_file(path);
  // The target namespace, to recognise which service a paaChiediNumeroAvviso is for.
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string target;
  if (auto doc = nodo::xml_document::parse(text.str())) {
    if (xmlChar* ns =
            xmlGetProp(doc->root(), reinterpret_cast<const xmlChar*>("targetNamespace"))) {
      target = reinterpret_cast<const char*>(ns);
      xmlFree(ns);
    }
  }
  return {std::move(schema), std::move(target)};
}

std::pair<std::shared_ptr<const nodo::xsd_schema>, std::string> schema_cache::get(
    const std::string& path) {
  std::error_code ec;
  const auto modified = std::filesystem::last_write_time(path, ec);
  const auto size = ec ? 0 : std::filesystem::file_size(path, ec);
  std::lock_guard lock(mutex_);
  if (auto it = schemas_.find(path);
      it != schemas_.end() && !ec && it->second.modified == modified && it->second.size == size)
    return {it->second.compiled.schema, it->second.compiled.target_namespace};
  auto compiled = compile_service_schema(path);
  auto& e = schemas_[path] = entry{std::move(compiled), modified, size};
  return {e.compiled.schema, e.compiled.target_namespace};
}

void check_demand_schemas(const config::entity_registry& registry) {
  for (const auto& e : registry.all()) {
    std::map<std::string, std::string> by_namespace;  // target namespace -> service code
    for (const auto& s : e.services) {
      if (!s.spontaneous || s.demand_schema.empty()) continue;
      const std::string key =
          "entity " + e.fiscal_code.str() + " service " + s.code + ": demand_schema";
      compiled_schema c;
      try {
        c = compile_service_schema(s.demand_schema);
      } catch (const std::exception& ex) {
        throw config::config_error(s.demand_schema, key,
                                   std::string("is not a valid XML Schema: ") + ex.what());
      }
      // paaChiediNumeroAvviso carries no service id: the data's namespace picks the service.
      const auto [it, fresh] = by_namespace.emplace(c.target_namespace, s.code);
      if (!fresh) {
        throw config::config_error(s.demand_schema, key,
                                   "has the target namespace \"" + c.target_namespace +
                                       "\" of service " + it->second +
                                       "'s schema: the 2018 model could not tell them apart");
      }
    }
  }
}

std::optional<std::string> notice_of_iuv(const config::entity& e, std::string_view iuv) {
  const auto all_digits = iuv.find_first_not_of("0123456789") == std::string_view::npos;
  if (!all_digits) return std::nullopt;
  if (iuv.size() == 17) return "3" + std::string(iuv);
  if (iuv.size() == 15 && e.application_code >= 0) {
    const std::string code =
        (e.application_code < 10 ? "0" : "") + std::to_string(e.application_code);
    return "0" + code + std::string(iuv);
  }
  return std::nullopt;
}

awaitable<handled> handle_demand(handler_context& hc, const request_info& ri,
                                 const demand_request& rq) {
  constexpr auto op = operation::pa_demand_payment_notice;
  const auto registry = hc.deps.registry.get();
  auto checked =
      check_station(*registry, hc.self, rq.ids.id_broker_pa, rq.ids.id_station, rq.ids.id_pa);
  if (!checked) co_return fault_answer(op, checked.error(), rq.ids.id_pa);
  const config::entity& entity = **checked;
  const config::service* service = nullptr;
  for (const auto& s : entity.services)
    if (s.spontaneous && !s.demand_schema.empty() && s.catalog_id == rq.id_servizio) service = &s;
  if (service == nullptr) {
    // GPD's mapping [IMPL]: no such service -> PAA_PAGAMENTO_SCONOSCIUTO.
    co_return fault_answer(
        op,
        make_fault(paa_fault::pagamento_sconosciuto, rq.ids.id_pa,
                   "no spontaneous service " + rq.id_servizio + " at entity " + rq.ids.id_pa),
        rq.ids.id_pa);
  }
  const auto schema = hc.service_schemas.get(service->demand_schema).first;
  auto doc = service_data(rq.service_data, schema.get(), rq.ids.id_pa);
  if (!doc) co_return fault_answer(op, doc.error(), rq.ids.id_pa);
  auto made = co_await demand_position(hc, entity, *service, debtor_of(*doc), rq.service_data,
                                       ri.request_id);
  if (!made) {
    co_return fault_answer(
        op,
        make_fault(fault_for(made.error().code), rq.ids.id_pa,
                   "cannot create the position: " + made.error().message +
                       (made.error().path.empty() ? "" : " (" + made.error().path + ")")),
        rq.ids.id_pa);
  }
  const auto& option = made->position.options.front();
  const payable p{&made->position, &option};
  const verify_response v = build_verify(entity, p);
  demand_response r;
  r.fiscal_code = entity.fiscal_code.str();
  r.notice_number = option.notice_number;
  r.option = v.option;
  r.payment_description = v.payment_description;
  r.fiscal_code_pa = v.fiscal_code_pa;
  r.company_name = v.company_name;
  handled h;
  h.xml = encode(r);
  h.entity_fc = rq.ids.id_pa;
  h.notice_number = option.notice_number;
  h.iuv = option.iuv;
  h.changed_state = made->created;
  co_return h;
}

awaitable<handled> handle_chiedi_numero_avviso(handler_context& hc, const request_info& ri,
                                               const chiedi_numero_avviso_request& rq) {
  constexpr auto op = operation::paa_chiedi_numero_avviso;
  const auto& hd = rq.header;
  const auto registry = hc.deps.registry.get();
  // The WSDL (PaPerNodoRichiestaAvvisi) requires intestazionePPT with its three identifiers;
  // the binding leaves the header optional, so a missing one is a syntax fault here, before
  // any identifier is judged (DIGEST §8.1), not a wrong broker.
  if (hd.broker_id.empty() || hd.station_id.empty() || hd.entity_fc.empty()) {
    co_return fault_answer(op,
                           make_fault(paa_fault::sintassi_extraxsd, hd.entity_fc,
                                      "intestazionePPT needs identificativoIntermediarioPA, "
                                      "identificativoStazioneIntermediarioPA and "
                                      "identificativoDominio"),
                           hd.entity_fc);
  }
  auto checked = check_station(*registry, hc.self, hd.broker_id, hd.station_id, hd.entity_fc);
  if (!checked) co_return fault_answer(op, checked.error(), hd.entity_fc);
  const config::entity& entity = **checked;
  auto doc = service_data(rq.service_data, nullptr, hd.entity_fc);
  if (!doc) co_return fault_answer(op, doc.error(), hd.entity_fc);
  // The WSDL carries no idServizio (DIGEST §2.1): the service is the spontaneous one whose
  // schema's target namespace is the data's.
  const config::service* service = nullptr;
  std::shared_ptr<const nodo::xsd_schema> schema;
  for (const auto& s : entity.services) {
    if (!s.spontaneous || s.demand_schema.empty()) continue;
    std::shared_ptr<const nodo::xsd_schema> compiled;
    std::string target;
    try {
      std::tie(compiled, target) = hc.service_schemas.get(s.demand_schema);
    } catch (const std::exception& e) {
      // Broken since the configuration was checked (edited in place): that service cannot
      // answer, the others still can.
      spdlog::error(
          "paaChiediNumeroAvviso: the demand_schema of service {} of entity {} cannot "
          "be used: {}",
          s.code, hd.entity_fc, e.what());
      continue;
    }
    if (target == doc->root_namespace()) {
      service = &s;
      schema = std::move(compiled);
      break;
    }
  }
  if (service == nullptr) {
    co_return fault_answer(
        op,
        make_fault(paa_fault::pagamento_sconosciuto, hd.entity_fc,
                   "no spontaneous service takes data in namespace " + doc->root_namespace()),
        hd.entity_fc);
  }
  if (auto ok = schema->validate(*doc); !ok) {
    co_return fault_answer(op,
                           make_fault(paa_fault::sintassi_xsd, hd.entity_fc,
                                      "datiSpecificiServizio " + ok.error().message),
                           hd.entity_fc);
  }
  auto made = co_await demand_position(hc, entity, *service, debtor_of(*doc), rq.service_data,
                                       ri.request_id);
  if (!made) {
    co_return fault_answer(op,
                           make_fault(fault_for(made.error().code), hd.entity_fc,
                                      "cannot create the position: " + made.error().message),
                           hd.entity_fc);
  }
  const auto& option = made->position.options.front();
  old_model_response r;
  const std::string& nav = option.notice_number;
  r.aux_digit = nav.substr(0, 1);
  if (nav[0] == '0') r.application_code = nav.substr(1, 2);
  r.iuv = option.iuv;
  r.data = dati_pagamento_of(option);
  handled h;
  h.xml = encode(op, r);
  h.entity_fc = hd.entity_fc;
  h.notice_number = nav;
  h.iuv = option.iuv;
  h.psp_id = rq.id_psp;
  h.changed_state = made->created;
  co_return h;
}

}  // namespace pagohub::pap
