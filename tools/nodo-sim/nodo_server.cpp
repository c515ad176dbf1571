#include "nodo_server.hpp"

#include <pagohub/nodo/xml_guard.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <libxml/tree.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "contract_check.hpp"

namespace pagohub::nodo_sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr const char* nodo_id = "NodoDeiPagamentiSPC";

using nodo::local_name;

xmlNode* first_child_element(xmlNode* n) {
  return n != nullptr ? nodo::next_element(n->children) : nullptr;
}

// Leaf elements under `n` (text content), first occurrence of each local name. The large
// base64 fields are left out: the RPT is kept decoded on its own.
void collect_fields(xmlNode* n, json& out) {
  for (xmlNode* c = n != nullptr ? n->children : nullptr; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (first_child_element(c) != nullptr) {
      collect_fields(c, out);
      continue;
    }
    const std::string name(local_name(c));
    if (name == "rpt" || name == "rr" || name == "er" || out.contains(name)) continue;
    out[name] = *nodo::text_of(c);
  }
}

std::string field(const json& f, const char* name) {
  auto it = f.find(name);
  return it != f.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// What the script's by_key matches, per operation (README).
std::string key_of(const std::string& op, const json& f) {
  if (op == "nodoInviaRPT" || op == "nodoInviaRichiestaStorno")
    return field(f, "identificativoUnivocoVersamento");
  if (op == "nodoChiediCopiaRT")
    return field(f, "identificativoUnivocoVersamento") + "/" + field(f, "codiceContestoPagamento");
  if (op == "nodoChiediElencoFlussiRendicontazione") return field(f, "identificativoDominio");
  if (op == "nodoChiediFlussoRendicontazione") return field(f, "identificativoFlusso");
  if (op == "nodoChiediInformativaPSP") return field(f, "identificativoPSP");
  if (op == "nodoInviaAvvisoDigitale") return field(f, "codiceAvviso");
  return {};
}

const std::map<std::string, std::string, std::less<>>& fault_texts() {
  static const std::map<std::string, std::string, std::less<>> t = {
      {"PPT_RPT_DUPLICATA", "RPT duplicata"},
      {"PPT_SYSTEM_ERROR", "Errore generico."},
      {"PPT_AUTENTICAZIONE", "Errore di autenticazione"},
      {"PPT_SINTASSI_EXTRAXSD", "Errore di sintassi extra XSD."},
      {"PPT_SINTASSI_XSD", "Errore di sintassi XSD."},
      {"PPT_SEMANTICA", "Errore semantico."},
      {"PPT_ID_FLUSSO_SCONOSCIUTO", "Identificativo flusso sconosciuto"},
      {"PPT_RT_SCONOSCIUTA", "RT sconosciuta."},
      {"PPT_RT_NONDISPONIBILE", "RT non ancora disponibile"},
      {"PPT_CANALE_IRRAGGIUNGIBILE", "Canale irraggiungibile"},
      {"PPT_OPER_NON_STORNABILE", "Operazione non stornabile"}};
  return t;
}

struct fault_spec {
  std::string code, text, description;
};

std::optional<fault_spec> fault_of(const json& v) {
  if (v.is_string() && !v.get<std::string>().empty()) {
    fault_spec f{v.get<std::string>(), {}, {}};
    auto it = fault_texts().find(f.code);
    f.text = it != fault_texts().end() ? it->second : f.code;
    return f;
  }
  if (v.is_object() && v.contains("code")) {
    auto f = fault_of(v["code"]);
    if (!f) return f;
    if (v.contains("string")) f->text = v["string"].get<std::string>();
    if (v.contains("description")) f->description = v["description"].get<std::string>();
    return f;
  }
  return std::nullopt;
}

std::string esc(std::string_view s) {
  return nodo::xml_escape(s);
}

std::string fault_xml(const fault_spec& f, const char* p = "") {
  std::string pre(p);
  auto e = [&](const char* n, const std::string& v) {
    return "<" + pre + n + ">" + esc(v) + "</" + pre + n + ">";
  };
  return "<" + pre + "fault>" + e("faultCode", f.code) + e("faultString", f.text) +
         e("id", nodo_id) + (f.description.empty() ? "" : e("description", f.description)) + "</" +
         pre + "fault>";
}

std::string envelope(const std::string& body) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>)"
         R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" )"
         R"(xmlns:ppt="http://ws.pagamenti.telematici.gov/"><soapenv:Body>)" +
         body + "</soapenv:Body></soapenv:Envelope>";
}

std::string el(const char* name, const std::string& v) {
  return std::string("<") + name + ">" + esc(v) + "</" + name + ">";
}

std::string str_or(const json& rule, const char* name, std::string fallback = {}) {
  auto it = rule.find(name);
  return it != rule.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace

json to_json(const recorded_request& r) {
  json j = {{"operation", r.operation},
            {"key", r.key},
            {"path", r.path},
            {"soap_action", r.soap_action},
            {"fields", r.fields},
            {"body", r.body},
            {"answered_status", r.answered_status},
            {"answered_fault", r.answered_fault}};
  if (!r.rpt.empty()) j["rpt"] = r.rpt;
  if (r.valid) {
    j["valid"] = *r.valid;
    if (!r.problem.empty()) j["problem"] = r.problem;
  }
  return j;
}

json load_script(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read script " + file.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error("script " + file.string() + ": " + e.what());
  }
}

// The sessions refer to the impl by `this`: it owns the io_context that runs them, and stop()
// joins the thread before the impl can go, so whatever is still suspended then is destroyed,
// not resumed, with the io_context. A shared_ptr held in a suspended frame would keep the impl,
// and with it that frame, alive for ever.
struct nodo_server::impl {
  server_options options;
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
  unsigned short bound = 0;
  mutable std::mutex mutex;
  json script;
  std::map<std::string, std::size_t> calls;  // "op key" -> calls so far
  std::vector<recorded_request> recorded;
  std::unique_ptr<contract_check> contract;

  // The rule for (op, key): the operation's settings, overridden by its by_key entry.
  json rule_for(const std::string& op, const std::string& key) const {
    json rule = json::object();
    if (script.contains("delay_ms")) rule["delay_ms"] = script["delay_ms"];
    const auto ops = script.find("operations");
    if (ops == script.end() || !ops->is_object() || !ops->contains(op)) return rule;
    const json& o = (*ops)[op];
    for (auto it = o.begin(); it != o.end(); ++it)
      if (it.key() != "by_key") rule[it.key()] = it.value();
    if (o.contains("by_key") && o["by_key"].contains(key)) {
      const json& k = o["by_key"][key];
      for (auto it = k.begin(); it != k.end(); ++it) rule[it.key()] = it.value();
    }
    return rule;
  }

  struct answer {
    unsigned status = 200;
    std::string body;
    std::string content_type = "text/xml; charset=utf-8";
    int delay_ms = 0;
  };

  answer control(const http::request<http::string_body>& req) {
    answer a;
    a.content_type = "application/json";
    const std::string target(req.target());
    if (target == "/_sim/requests" && req.method() == http::verb::get) {
      a.body = requests_json().dump();
    } else if (target == "/_sim/requests" && req.method() == http::verb::delete_) {
      std::lock_guard lock(mutex);
      recorded.clear();
      a.body = "{}";
    } else if (target == "/_sim/script" && req.method() == http::verb::put) {
      try {
        auto s = json::parse(req.body());
        if (!s.is_object()) throw std::invalid_argument("the script must be a JSON object");
        std::lock_guard lock(mutex);
        script = std::move(s);
        calls.clear();
        a.body = "{}";
      } catch (const std::exception& e) {
        a.status = 400;
        a.body = json{{"error", e.what()}}.dump();
      }
    } else if (target == "/_sim/health") {
      a.body = R"({"status":"ok"})";
    } else {
      a.status = 404;
      a.body = R"({"error":"unknown control endpoint"})";
    }
    return a;
  }

  json requests_json() const {
    std::lock_guard lock(mutex);
    json out = json::array();
    for (const auto& r : recorded) out.push_back(to_json(r));
    return out;
  }

  answer soap(const http::request<http::string_body>& req) {
    answer a;
    recorded_request rec;
    rec.path = std::string(req.target());
    rec.soap_action = nodo::soap_action_operation(req["SOAPAction"]);
    rec.body = req.body();
    rec.fields = json::object();
    auto doc = nodo::xml_document::parse(req.body());
    xmlNode* body_el = nullptr;
    if (doc) {
      xmlNode* root = doc->root();
      for (xmlNode* part = first_child_element(root); part != nullptr; part = part->next) {
        if (part->type != XML_ELEMENT_NODE) continue;
        if (local_name(part) == "Header") collect_fields(part, rec.fields);
        if (local_name(part) == "Body") body_el = first_child_element(part);
      }
    }
    if (body_el == nullptr) {
      a.status = 500;
      a.body = nodo::soap11_fault("Client", doc ? "no body element" : doc.error().message);
      rec.answered_status = a.status;
      rec.answered_fault = "SOAP Fault";
      std::lock_guard lock(mutex);
      recorded.push_back(std::move(rec));
      return a;
    }
    rec.operation = std::string(local_name(body_el));
    collect_fields(body_el, rec.fields);
    if (rec.operation == "nodoInviaRPT") {
      if (auto text = nodo::find_text(body_el, "rpt"))
        rec.rpt = nodo::base64_decode(*text).value_or("");
    }
    rec.key = key_of(rec.operation, rec.fields);
    if (contract) {
      rec.problem = contract->check(rec.body);
      rec.valid = rec.problem.empty();
    }

    std::unique_lock lock(mutex);
    const json rule = rule_for(rec.operation, rec.key);
    const std::size_t n = calls[rec.operation + " " + rec.key]++;
    std::optional<fault_spec> fault;
    if (rule.contains("faults") && rule["faults"].is_array() && n < rule["faults"].size())
      fault = fault_of(rule["faults"][n]);
    else if (rule.contains("fault"))
      fault = fault_of(rule["fault"]);
    a.delay_ms = rule.value("delay_ms", 0);
    if (rule.contains("http_status") && rule["http_status"].is_number_integer() &&
        rule["http_status"].get<int>() != 200) {
      a.status = rule["http_status"].get<unsigned>();
      a.content_type = "text/plain";
      a.body = "injected HTTP " + std::to_string(a.status);
    } else {
      a.body = respond(rec.operation, rec.fields, rule, fault, a.status);
    }
    rec.answered_status = a.status;
    rec.answered_fault = fault ? fault->code : "";
    recorded.push_back(std::move(rec));
    return a;
  }

  // The answer of `op` (DIGEST §1.5, §2.2): the faultBean first, then the operation's fields.
  std::string respond(const std::string& op, const json& f, const json& rule,
                      std::optional<fault_spec>& fault, unsigned& status) {
    const std::string fx = fault ? fault_xml(*fault) : "";
    const std::string esito = fault ? "KO" : "OK";
    if (op == "nodoInviaRPT") {
      std::string extra;
      if (!fault && rule.contains("url"))
        extra = el("redirect", "1") + el("url", str_or(rule, "url"));
      return envelope("<ppt:nodoInviaRPTRisposta>" + fx + el("esito", esito) + extra +
                      "</ppt:nodoInviaRPTRisposta>");
    }
    if (op == "nodoInviaRichiestaStorno") {
      return envelope("<ppt:nodoInviaRichiestaStornoRisposta>" + fx + el("esito", esito) +
                      "</ppt:nodoInviaRichiestaStornoRisposta>");
    }
    if (op == "nodoChiediCopiaRT") {
      std::string rt;
      if (!fault) {
        if (!rule.contains("rt")) {
          fault = fault_of(json("PPT_RT_SCONOSCIUTA"));
          return envelope("<ppt:nodoChiediCopiaRTRisposta>" + fault_xml(*fault) +
                          "</ppt:nodoChiediCopiaRTRisposta>");
        }
        rt = el("tipoFirma", "") + el("rt", nodo::base64_encode(str_or(rule, "rt")));
      }
      return envelope("<ppt:nodoChiediCopiaRTRisposta>" + fx + rt +
                      "</ppt:nodoChiediCopiaRTRisposta>");
    }
    if (op == "nodoChiediInformativaPSP") {
      std::string x;
      if (!fault && rule.contains("xml"))
        x = el("xmlInformativa", nodo::base64_encode(str_or(rule, "xml")));
      return envelope("<ppt:nodoChiediInformativaPSPRisposta>" + fx + x +
                      "</ppt:nodoChiediInformativaPSPRisposta>");
    }
    if (op == "nodoChiediElencoFlussiRendicontazione") {
      std::string list;
      if (!fault) {
        const json flows = rule.value("flows", json::array());
        list = "<elencoFlussiRendicontazione>" + el("totRestituiti", std::to_string(flows.size()));
        for (const auto& fl : flows) {
          list += "<idRendicontazione>" + el("identificativoFlusso", str_or(fl, "id")) +
                  el("dataOraFlusso", str_or(fl, "date_time", "2025-01-01T10:00:00")) +
                  "</idRendicontazione>";
        }
        list += "</elencoFlussiRendicontazione>";
      }
      return envelope("<ppt:nodoChiediElencoFlussiRendicontazioneRisposta>" + fx + list +
                      "</ppt:nodoChiediElencoFlussiRendicontazioneRisposta>");
    }
    if (op == "nodoChiediFlussoRendicontazione") {
      std::string x;
      if (!fault) {
        const std::string id = field(f, "identificativoFlusso");
        std::optional<std::string> xml;
        if (rule.contains("xml")) xml = str_or(rule, "xml");
        if (rule.contains("flows") && rule["flows"].is_object() && rule["flows"].contains(id))
          xml = rule["flows"][id].get<std::string>();
        if (!xml) {
          fault = fault_of(json("PPT_ID_FLUSSO_SCONOSCIUTO"));
          return envelope("<ppt:nodoChiediFlussoRendicontazioneRisposta>" + fault_xml(*fault) +
                          "</ppt:nodoChiediFlussoRendicontazioneRisposta>");
        }
        x = el("xmlRendicontazione", nodo::base64_encode(*xml));
      }
      return envelope("<ppt:nodoChiediFlussoRendicontazioneRisposta>" + fx + x +
                      "</ppt:nodoChiediFlussoRendicontazioneRisposta>");
    }
    if (op == "nodoInviaAvvisoDigitale") {
      // avvisi-digitali-1.0.xsd is qualified: children carry the prefix too.
      return envelope("<ppt:nodoInviaAvvisoDigitaleRisposta>" +
                      (fault ? fault_xml(*fault, "ppt:") : "") + "<ppt:esitoOperazione>" + esito +
                      "</ppt:esitoOperazione>" + "</ppt:nodoInviaAvvisoDigitaleRisposta>");
    }
    status = 500;
    return nodo::soap11_fault("Client", "operation " + op + " is not answered by nodo-sim");
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      stream.expires_after(std::chrono::seconds(60));
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
      if (ec) break;
      auto req = parser.release();
      answer a = std::string_view(req.target()).starts_with("/_sim/") ? control(req) : soap(req);
      if (a.delay_ms > 0) {
        asio::steady_timer t(stream.get_executor(), std::chrono::milliseconds(a.delay_ms));
        co_await t.async_wait(use_nothrow);
      }
      http::response<http::string_body> res{static_cast<http::status>(a.status), req.version()};
      res.set(http::field::content_type, a.content_type);
      res.keep_alive(req.keep_alive());
      res.body() = std::move(a.body);
      res.prepare_payload();
      stream.expires_after(std::chrono::seconds(60));
      auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
      if (wec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(use_nothrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
        continue;
      }
      asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
    }
  }
};

nodo_server::nodo_server(json script, server_options options) : impl_(std::make_shared<impl>()) {
  if (!script.is_object()) throw std::invalid_argument("the script must be a JSON object");
  impl_->script = std::move(script);
  impl_->options = std::move(options);
  if (impl_->options.contract_dir)
    impl_->contract = std::make_unique<contract_check>(*impl_->options.contract_dir);
}

nodo_server::~nodo_server() {
  stop();
}

unsigned short nodo_server::start() {
  tcp::endpoint ep(asio::ip::make_address(impl_->options.address), impl_->options.port);
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(ep.protocol());
  impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor->bind(ep);
  impl_->acceptor->listen();
  impl_->bound = impl_->acceptor->local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([p = impl_] { p->ioc.run(); });
  return impl_->bound;
}

void nodo_server::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->ioc.stop();
  impl_->thread.join();
  // Closed, not just unserved: a station's connect is refused from now on.
  boost::system::error_code ignored;
  if (impl_->acceptor) impl_->acceptor->close(ignored);
}

unsigned short nodo_server::port() const noexcept {
  return impl_->bound;
}

void nodo_server::set_script(json script) {
  if (!script.is_object()) throw std::invalid_argument("the script must be a JSON object");
  std::lock_guard lock(impl_->mutex);
  impl_->script = std::move(script);
  impl_->calls.clear();
}

std::vector<recorded_request> nodo_server::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->recorded;
}

std::vector<recorded_request> nodo_server::requests(const std::string& operation) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<recorded_request> out;
  for (const auto& r : impl_->recorded)
    if (r.operation == operation) out.push_back(r);
  return out;
}

json nodo_server::requests_json() const {
  return impl_->requests_json();
}

void nodo_server::clear_requests() {
  std::lock_guard lock(impl_->mutex);
  impl_->recorded.clear();
}

}  // namespace pagohub::nodo_sim
