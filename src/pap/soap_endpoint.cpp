// The HTTP side of the SOAP endpoints (pap/endpoints.hpp): caller checks, decoding, the
// SOAPAction check, dispatch, the journal's INTERFACCIA events, and the WSDL documents.
#include <pagohub/journal/event.hpp>
#include <pagohub/nodo/contract.hpp>
#include <pagohub/nodo/xml_guard.hpp>
#include <pagohub/pap/endpoints.hpp>

#include <spdlog/spdlog.h>
#include <boost/beast/http/field.hpp>

#include <chrono>
#include <map>
#include <variant>

#include "codec.hpp"
#include "handlers.hpp"
#include "operations.hpp"

namespace pagohub::pap {

namespace {

using http::request_context;
using http::response;
using http::status;

constexpr std::string_view xml_type = "text/xml; charset=utf-8";
constexpr std::string_view nodo_id = "NodoDeiPagamentiSPC";

// The WSDL each endpoint implements, its companions and the schemas they import, by the names
// the rewritten documents use (?wsdl=<name>, ?xsd=<name>).
struct published {
  std::string_view path;
  std::string_view main_wsdl;
  std::map<std::string_view, std::string_view> wsdls;
  std::map<std::string_view, std::string_view> xsds;
};

const published& documents_for(std::string_view path) {
  static const published pa_for_node{
      "/pagopa/paForNode",
      "wsdl/paForNode.wsdl",
      {{"paForNode", "wsdl/paForNode.wsdl"}},
      {{"paForNode.xsd", "wsdl/xsd/paForNode.xsd"},
       {"sac-common-types-1.0.xsd", "xsd-common/sac-common-types-1.0.xsd"}}};
  static const published pa_per_nodo{
      "/pagopa/PaPerNodo",
      "gad/wsdl/PaPerNodo.wsdl",
      {{"PaPerNodo", "gad/wsdl/PaPerNodo.wsdl"},
       {"PaPerNodoPagamentoPsp", "gad/wsdl/PaPerNodoPagamentoPsp.wsdl"},
       {"PaPerNodoRichiestaAvvisi", "gad/wsdl/PaPerNodoRichiestaAvvisi.wsdl"}},
      {{"PagInf_RPT_RT_6_2_0.xsd", "gad/xsd/PagInf_RPT_RT_6_2_0.xsd"},
       {"sac-common-types-1.0.xsd", "gad/xsd/sac-common-types-1.0.xsd"}}};
  return path == pa_per_nodo.path ? pa_per_nodo : pa_for_node;
}

// Points every schemaLocation at "?xsd=<file name>" on this endpoint and the service address at
// this endpoint, so that a client reading the WSDL finds everything here.
std::string rewrite(std::string_view doc, const std::string& address) {
  std::string out(doc);
  for (std::size_t at = out.find("schemaLocation=\""); at != std::string::npos;
       at = out.find("schemaLocation=\"", at + 1)) {
    const std::size_t begin = at + 16;
    const std::size_t end = out.find('"', begin);
    if (end == std::string::npos) break;
    const std::string location = out.substr(begin, end - begin);
    const std::size_t slash = location.find_last_of('/');
    const std::string name = slash == std::string::npos ? location : location.substr(slash + 1);
    out.replace(begin, end - begin, "?xsd=" + name);
  }
  for (std::size_t at = out.find("<soap:address location=\""); at != std::string::npos;
       at = out.find("<soap:address location=\"", at + 1)) {
    const std::size_t begin = at + 24;
    const std::size_t end = out.find('"', begin);
    if (end == std::string::npos) break;
    out.replace(begin, end - begin, nodo::xml_escape(address));
  }
  return out;
}

response xml_response(const request_context& ctx, status st, std::string body) {
  auto res = http::make_response(ctx.req, st, std::move(body), xml_type);
  res.set(boost::beast::http::field::cache_control, "no-store");
  return res;
}

awaitable<response> serve_documents(const request_context& ctx) {
  const published& docs = documents_for(ctx.path);
  std::optional<std::string_view> file;
  if (auto name = http::query_param(ctx.query, "xsd")) {
    if (auto it = docs.xsds.find(*name); it != docs.xsds.end()) file = it->second;
  } else if (auto wsdl = http::query_param(ctx.query, "wsdl")) {
    if (wsdl->empty()) {
      file = docs.main_wsdl;
    } else if (auto it = docs.wsdls.find(*wsdl); it != docs.wsdls.end()) {
      file = it->second;
    }
  }
  if (!file) {
    co_return http::make_response(ctx.req, status::not_found,
                                  "use ?wsdl (or ?wsdl=<name>, ?xsd=<name>)\n",
                                  "text/plain; charset=utf-8");
  }
  const auto text = nodo::contract_text(*file);
  if (!text) co_return http::make_response(ctx.req, status::not_found, "", "text/plain");
  const std::string host(ctx.req[boost::beast::http::field::host]);
  const std::string address =
      (ctx.client_subject.empty() ? "http://" : "https://") + host + std::string(docs.path);
  co_return xml_response(ctx, status::ok, rewrite(*text, address));
}

// Runs the handler of a decoded request.
awaitable<handled> dispatch(handler_context& hc, const request_info& ri, const inbound& in) {
  switch (in.op) {
    case operation::pa_verify_payment_notice:
      co_return co_await handle_verify(hc, ri, std::get<verify_request>(in.body));
    case operation::pa_get_payment:
    case operation::pa_get_payment_v2:
      co_return co_await handle_get_payment(hc, ri, std::get<get_payment_request>(in.body));
    case operation::pa_send_rt:
    case operation::pa_send_rt_v2:
      co_return co_await handle_send_rt(hc, ri, std::get<send_rt_request>(in.body));
    case operation::pa_demand_payment_notice:
      co_return co_await handle_demand(hc, ri, std::get<demand_request>(in.body));
    case operation::paa_verifica_rpt:
      co_return co_await handle_verifica_rpt(hc, ri, std::get<verifica_rpt_request>(in.body));
    case operation::paa_attiva_rpt:
      co_return co_await handle_attiva_rpt(hc, ri, std::get<attiva_rpt_request>(in.body));
    case operation::paa_invia_rt:
      co_return co_await handle_invia_rt(hc, ri, std::get<invia_rt_request>(in.body));
    case operation::paa_chiedi_numero_avviso:
      co_return co_await handle_chiedi_numero_avviso(
          hc, ri, std::get<chiedi_numero_avviso_request>(in.body));
    case operation::paa_invia_richiesta_revoca:
    case operation::paa_invia_esito_storno:
      co_return handle_refund(hc, in.op, std::get<refund_request>(in.body));
  }
  co_return fault_answer(
      in.op, make_fault(paa_fault::system_error, hc.self.broker_id, "operation not dispatched"));
}

// The station id an exchange went through, for the journal (DIGEST §7).
std::string station_of(const inbound& in, const std::string& fallback) {
  return std::visit(
      [&](const auto& r) -> std::string {
        using T = std::decay_t<decltype(r)>;
        if constexpr (requires { r.ids.id_station; }) {
          return r.ids.id_station;
        } else if constexpr (requires { r.header.station_id; }) {
          return r.header.station_id;
        } else if constexpr (std::is_same_v<T, refund_request>) {
          return r.station_id.empty() ? fallback : r.station_id;
        } else {
          return fallback;
        }
      },
      in.body);
}

awaitable<void> record(handler_context& hc, const request_context& ctx, std::string_view type,
                       const handled& h, const std::string& station, unsigned http_status,
                       std::chrono::system_clock::time_point started, const std::string& answer) {
  journal::writer* w = hc.deps.journal;
  if (w == nullptr || !w->recording_interfaccia()) co_return;
  journal::exchange x;
  x.cat = journal::category::interfaccia;
  x.interface = journal::interface_kind::soap_pa;
  x.component = "pap";
  x.type = std::string(type);
  x.entity_fc = h.entity_fc;
  x.iuv = h.iuv;
  x.ccp = h.ccp;
  x.psp_id = h.psp_id;
  x.station_id = station;
  x.channel_id = h.channel_id;
  x.notice_number = h.notice_number.size() == 18 ? h.notice_number : std::string{};
  x.caller_id = std::string(nodo_id);
  x.provider_id = station.empty() ? hc.self.station_id : station;
  x.request_id = ctx.request_id;
  x.by = journal::actor{"nodo", std::string(nodo_id)};
  x.started = started;
  x.finished = hc.deps.clock.now();
  x.http_status = static_cast<int>(http_status);
  x.fault_code = h.fault ? h.fault->code : std::string{};
  x.outcome = h.fault ? "KO" : "OK";
  const std::string action(ctx.req["SOAPAction"]);
  x.request = journal::payload{std::string(ctx.req[boost::beast::http::field::content_type]),
                               {{"SOAPAction", action}},
                               ctx.req.body()};
  x.response = journal::payload{std::string(xml_type), {}, answer};
  auto [req, rsp] = journal::make_events(std::move(x));
  co_await w->enqueue(std::move(req), h.changed_state);
  co_await w->enqueue(std::move(rsp), h.changed_state);
}

awaitable<response> serve_soap(handler_context& hc, request_context& ctx) {
  const auto started = hc.deps.clock.now();
  const auto& settings = hc.deps.settings;
  // Caller authentication ([pap]): not the Nodo -> no PAA answer, just a refusal.
  const std::string refused =
      check_caller(settings, ctx.client_subject, ctx.req[settings.shared_secret_header]);
  if (!refused.empty()) {
    spdlog::warn("pap: refused a SOAP call from {} ({}), request {}", ctx.remote_address, refused,
                 ctx.request_id);
    ++hc.counters.refused;
    co_return xml_response(ctx, status::forbidden,
                           nodo::soap11_fault("Client", "the caller is not authorised"));
  }
  const std::string_view body = ctx.req.body();
  const std::string action = nodo::soap_action_operation(ctx.req["SOAPAction"]);
  auto decoded =
      decode_request(body, ctx.req[boost::beast::http::field::content_type], settings.max_depth);
  handled h;
  std::string type = action.empty() ? "unknown" : action;
  std::string station = hc.self.station_id;
  try {
    if (!decoded) {
      const auto& f = decoded.error();
      if (f.what == decode_failure::kind::version_mismatch) {
        ++hc.counters.refused;
        co_return xml_response(ctx, status::internal_server_error,
                               nodo::soap11_fault("VersionMismatch", f.reason));
      }
      const auto op = f.op ? f.op : operation_named(action);
      if (f.what == decode_failure::kind::unknown_operation || !op) {
        ++hc.counters.refused;
        co_return xml_response(
            ctx, status::internal_server_error,
            nodo::soap11_fault("Client",
                               f.reason.empty() ? "not a request of this service" : f.reason));
      }
      type = std::string(name_of(*op));
      h = fault_answer(*op, make_fault(paa_fault::sintassi_extraxsd, hc.self.broker_id, f.reason));
    } else if (action != name_of(decoded->op)) {
      // DIGEST §0: SOAPAction is the operation name; it must name what the body carries.
      type = std::string(name_of(decoded->op));
      h = fault_answer(decoded->op, make_fault(paa_fault::sintassi_extraxsd, hc.self.broker_id,
                                               "SOAPAction '" + action +
                                                   "' does not match the body element of " + type));
    } else {
      type = std::string(name_of(decoded->op));
      station = station_of(*decoded, hc.self.station_id);
      const request_info ri{ctx.request_id, body, ctx.received};
      h = co_await dispatch(hc, ri, *decoded);
    }
  } catch (const std::exception& e) {
    // Never a stack trace to the Nodo: a system error with the request id (ARCHITECTURE §6).
    spdlog::error("pap: {} failed, request {}: {}", type, ctx.request_id, e.what());
    const auto op = decoded ? std::optional(decoded->op) : operation_named(action);
    h = fault_answer(op.value_or(operation::pa_verify_payment_notice),
                     make_fault(paa_fault::system_error, hc.self.broker_id,
                                "internal error, request id " + ctx.request_id));
  }
  std::string answer = std::move(h.xml);
  if (answer.empty()) {
    // Serialization failed: a broken invariant, never a half-written answer.
    spdlog::error("pap: {} answer could not be serialized, request {}", type, ctx.request_id);
    answer = nodo::soap11_fault("Server", "internal error, request id " + ctx.request_id);
    co_await record(hc, ctx, type, h, station, 500, started, answer);
    co_return xml_response(ctx, status::internal_server_error, std::move(answer));
  }
  if (const auto op = operation_named(type)) {
    auto& slot = h.fault ? hc.counters.ko : hc.counters.ok;
    ++slot[static_cast<std::size_t>(*op)];
  }
  co_await record(hc, ctx, type, h, station, 200, started, answer);
  co_return xml_response(ctx, status::ok, std::move(answer));
}

void append_metrics(const operation_counters& c, std::string& out) {
  out += "# HELP pagohub_pap_answers_total SOAP answers to the Nodo by operation and outcome.\n";
  out += "# TYPE pagohub_pap_answers_total counter\n";
  for (const auto& i : all_operations()) {
    const auto k = static_cast<std::size_t>(i.op);
    for (const auto& [label, value] : {std::pair{"OK", c.ok[k].load()}, {"KO", c.ko[k].load()}}) {
      out += "pagohub_pap_answers_total{operation=\"" + std::string(i.name) + "\",outcome=\"" +
             label + "\"} " + std::to_string(value) + "\n";
    }
  }
  out += "# HELP pagohub_pap_refused_total SOAP requests refused without an operation's answer.\n";
  out += "# TYPE pagohub_pap_refused_total counter\n";
  out += "pagohub_pap_refused_total " + std::to_string(c.refused.load()) + "\n";
}

}  // namespace

void add_routes(http::router& r, endpoint_deps deps) {
  auto hc = std::make_shared<handler_context>(std::move(deps));
  hc->self = station_identity{hc->deps.broker_id, hc->deps.station_id};
  hc->rt_schema = nodo::xsd_schema::from_contract("gad/xsd/PagInf_RPT_RT_6_2_0.xsd");
  if (hc->deps.metrics != nullptr) {
    hc->deps.metrics->add_collector([hc](std::string& out) { append_metrics(hc->counters, out); });
  }
  const http::route_options opts{hc->deps.settings.max_body_bytes};
  for (const std::string path : {"/pagopa/paForNode", "/pagopa/PaPerNodo"}) {
    r.add(
        http::verb::post, path,
        [hc](request_context& ctx) -> awaitable<response> { return serve_soap(*hc, ctx); }, opts);
    r.add(http::verb::get, path,
          [](request_context& ctx) -> awaitable<response> { return serve_documents(ctx); });
  }
}

}  // namespace pagohub::pap
