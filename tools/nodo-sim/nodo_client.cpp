#include "nodo_client.hpp"

#include <pagohub/positions/dates.hpp>

#include <pagohub/core/ids.hpp>
#include <pagohub/nodo/xml_guard.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <boost/asio/connect.hpp>
#include <boost/beast/http.hpp>

#include <libxml/tree.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace pagohub::nodo_sim {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

using nodo::xml_escape;

std::string amount(core::amount_cents c) {
  return core::format_decimal_amount(c);
}

std::string element(std::string_view name, std::string_view value) {
  std::string out = "<";
  out += name;
  out += '>';
  out += xml_escape(value);
  out += "</";
  out += name;
  out += '>';
  return out;
}

constexpr std::string_view envelope_open =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:pafn=\"http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd\" "
    "xmlns:ppt=\"http://ws.pagamenti.telematici.gov/\" "
    "xmlns:ppthead=\"http://ws.pagamenti.telematici.gov/ppthead\">";

std::string envelope(std::string_view header, std::string_view body) {
  std::string out(envelope_open);
  out += "<soapenv:Header>";
  out += header;
  out += "</soapenv:Header><soapenv:Body>";
  out += body;
  out += "</soapenv:Body></soapenv:Envelope>";
  return out;
}

std::string ids(const identity& id) {
  return element("idPA", id.entity) + element("idBrokerPA", id.broker) +
         element("idStation", id.station);
}

std::string qr(const identity& id, const std::string& notice) {
  return "<qrCode>" + element("fiscalCode", id.entity) + element("noticeNumber", notice) +
         "</qrCode>";
}

std::string subject_xml(std::string_view tag, const party& p) {
  return "<" + std::string(tag) + "><uniqueIdentifier>" +
         element("entityUniqueIdentifierType", p.type) +
         element("entityUniqueIdentifierValue", p.fiscal_code) + "</uniqueIdentifier>" +
         element("fullName", p.full_name) + "</" + std::string(tag) + ">";
}

std::string ppt_header(const identity& id, const std::string& iuv, const std::string& ccp) {
  std::string h = "<ppthead:intestazionePPT>" +
                  element("identificativoIntermediarioPA", id.broker) +
                  element("identificativoStazioneIntermediarioPA", id.station) +
                  element("identificativoDominio", id.entity);
  if (!iuv.empty()) h += element("identificativoUnivocoVersamento", iuv);
  if (!ccp.empty()) h += element("codiceContestoPagamento", ccp);
  return h + "</ppthead:intestazionePPT>";
}

}  // namespace

// Italian civil time now, as the receipts carry it (the station's own rule).
std::string rome_now() {
  return positions::rome_date_time(std::chrono::system_clock::now());
}

std::string new_token() {
  return core::random_hex(16);
}

std::string verify_xml(const identity& id, const std::string& notice) {
  return envelope("", "<pafn:paVerifyPaymentNoticeReq>" + ids(id) + qr(id, notice) +
                          "</pafn:paVerifyPaymentNoticeReq>");
}

std::string get_payment_xml(const identity& id, const std::string& notice, bool v2,
                            const std::optional<std::string>& transfer_type) {
  const std::string tag = v2 ? "pafn:paGetPaymentV2Request" : "pafn:paGetPaymentReq";
  std::string body = "<" + tag + ">" + ids(id) + qr(id, notice);
  if (transfer_type) body += element("transferType", *transfer_type);
  body += "</" + tag + ">";
  return envelope("", body);
}

std::string send_rt_xml(const identity& id, const receipt_spec& r) {
  const std::string tag = r.v2 ? "pafn:paSendRTV2Request" : "pafn:paSendRTReq";
  std::string rc = "<receipt>" + element("receiptId", r.receipt_id) +
                   element("noticeNumber", r.notice_number) + element("fiscalCode", r.fiscal_code) +
                   element("outcome", r.outcome) + element("creditorReferenceId", r.iuv) +
                   element("paymentAmount", amount(r.amount)) +
                   element("description", r.description) + element("companyName", r.company_name) +
                   subject_xml("debtor", r.debtor) + "<transferList>";
  for (const auto& t : r.transfers) {
    rc += "<transfer>" + element("idTransfer", std::to_string(t.index)) +
          element("transferAmount", amount(t.amount)) + element("fiscalCodePA", t.fiscal_code) +
          element("IBAN", t.iban) + element("remittanceInformation", t.remittance) +
          element("transferCategory", t.category) + "</transfer>";
  }
  rc += "</transferList>" + element("idPSP", r.psp_id) +
        element("pspFiscalCode", r.psp_fiscal_code) + element("PSPCompanyName", r.psp_name) +
        element("idChannel", r.channel_id) + element("channelDescription", r.channel_description);
  if (r.payer) rc += subject_xml("payer", *r.payer);
  rc += element("paymentMethod", r.payment_method) + element("fee", amount(r.fee));
  if (r.v2) rc += element("primaryCiIncurredFee", amount(0));
  rc += element("paymentDateTime", r.payment_date_time.empty() ? rome_now() : r.payment_date_time) +
        element("applicationDate", rome_now().substr(0, 10)) +
        element("transferDate", rome_now().substr(0, 10));
  if (r.stand_in) rc += element("standIn", "true");
  rc += "</receipt>";
  return envelope("", "<" + tag + ">" + ids(id) + rc + "</" + tag + ">");
}

std::string demand_xml(const identity& id, const std::string& id_servizio,
                       const std::string& service_data_xml) {
  return envelope(
      "", "<pafn:paDemandPaymentNoticeRequest>" + ids(id) + element("idServizio", id_servizio) +
              element("idSoggettoServizio", "00001") +
              element("datiSpecificiServizioRequest", nodo::base64_encode(service_data_xml)) +
              "</pafn:paDemandPaymentNoticeRequest>");
}

std::string verifica_rpt_xml(const identity& id, const std::string& iuv, const std::string& ccp,
                             const std::string& psp) {
  return envelope(
      ppt_header(id, iuv, ccp),
      "<ppt:paaVerificaRPT>" + element("identificativoPSP", psp) + "</ppt:paaVerificaRPT>");
}

std::string attiva_rpt_xml(const identity& id, const std::string& iuv, const std::string& ccp,
                           const std::string& psp, core::amount_cents value) {
  return envelope(ppt_header(id, iuv, ccp),
                  "<ppt:paaAttivaRPT>" + element("identificativoPSP", psp) + "<datiPagamentoPSP>" +
                      element("importoSingoloVersamento", amount(value)) + "</datiPagamentoPSP>" +
                      element("identificativoIntermediarioPSP", psp) +
                      element("identificativoCanalePSP", psp + "_01") + "</ppt:paaAttivaRPT>");
}

std::string invia_rt_xml(const identity& id, const std::string& iuv, const std::string& ccp,
                         const std::string& rt) {
  return envelope(ppt_header(id, iuv, ccp), "<ppt:paaInviaRT>" + element("tipoFirma", "") +
                                                element("rt", nodo::base64_encode(rt)) +
                                                "</ppt:paaInviaRT>");
}

std::string rt_document(const identity& id, const std::string& iuv, const std::string& ccp,
                        core::amount_cents value, const std::string& esito) {
  const std::string now = rome_now();
  const std::string today = now.substr(0, 10);
  const bool paid = esito == "0";
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<pay_i:RT xmlns:pay_i=\"http://www.digitpa.gov.it/schemas/2011/Pagamenti/\">"
         "<pay_i:versioneOggetto>6.2.0</pay_i:versioneOggetto>"
         "<pay_i:dominio><pay_i:identificativoDominio>" +
         id.entity +
         "</pay_i:identificativoDominio></pay_i:dominio>"
         "<pay_i:identificativoMessaggioRicevuta>RT" +
         ccp.substr(0, 30) +
         "</pay_i:identificativoMessaggioRicevuta>"
         "<pay_i:dataOraMessaggioRicevuta>" +
         now +
         "</pay_i:dataOraMessaggioRicevuta>"
         "<pay_i:riferimentoMessaggioRichiesta>RPT" +
         ccp.substr(0, 30) +
         "</pay_i:riferimentoMessaggioRichiesta>"
         "<pay_i:riferimentoDataRichiesta>" +
         today +
         "</pay_i:riferimentoDataRichiesta>"
         "<pay_i:istitutoAttestante><pay_i:identificativoUnivocoAttestante>"
         "<pay_i:tipoIdentificativoUnivoco>B</pay_i:tipoIdentificativoUnivoco>"
         "<pay_i:codiceIdentificativoUnivoco>BCITITMM</pay_i:codiceIdentificativoUnivoco>"
         "</pay_i:identificativoUnivocoAttestante>"
         "<pay_i:denominazioneAttestante>Banca Esempio S.p.A.</pay_i:denominazioneAttestante>"
         "</pay_i:istitutoAttestante>"
         "<pay_i:enteBeneficiario><pay_i:identificativoUnivocoBeneficiario>"
         "<pay_i:tipoIdentificativoUnivoco>G</pay_i:tipoIdentificativoUnivoco>"
         "<pay_i:codiceIdentificativoUnivoco>" +
         id.entity +
         "</pay_i:codiceIdentificativoUnivoco></pay_i:identificativoUnivocoBeneficiario>"
         "<pay_i:denominazioneBeneficiario>Comune di Esempio</pay_i:denominazioneBeneficiario>"
         "</pay_i:enteBeneficiario>"
         "<pay_i:soggettoPagatore><pay_i:identificativoUnivocoPagatore>"
         "<pay_i:tipoIdentificativoUnivoco>F</pay_i:tipoIdentificativoUnivoco>"
         "<pay_i:codiceIdentificativoUnivoco>RSSMRA80A01H501U</pay_i:codiceIdentificativoUnivoco>"
         "</pay_i:identificativoUnivocoPagatore>"
         "<pay_i:anagraficaPagatore>Mario Rossi</pay_i:anagraficaPagatore></pay_i:soggettoPagatore>"
         "<pay_i:datiPagamento><pay_i:codiceEsitoPagamento>" +
         esito + "</pay_i:codiceEsitoPagamento><pay_i:importoTotalePagato>" +
         amount(paid ? value : 0) +
         "</pay_i:importoTotalePagato><pay_i:identificativoUnivocoVersamento>" + iuv +
         "</pay_i:identificativoUnivocoVersamento><pay_i:CodiceContestoPagamento>" + ccp +
         "</pay_i:CodiceContestoPagamento>"
         "<pay_i:datiSingoloPagamento><pay_i:singoloImportoPagato>" +
         amount(paid ? value : 0) +
         "</pay_i:singoloImportoPagato><pay_i:dataEsitoSingoloPagamento>" + today +
         "</pay_i:dataEsitoSingoloPagamento><pay_i:identificativoUnivocoRiscossione>" +
         ccp.substr(0, 35) +
         "</pay_i:identificativoUnivocoRiscossione>"
         "<pay_i:causaleVersamento>/RFB/" +
         iuv + "/" + amount(value) +
         "</pay_i:causaleVersamento>"
         "<pay_i:datiSpecificiRiscossione>9/0101002IM/</pay_i:datiSpecificiRiscossione>"
         "</pay_i:datiSingoloPagamento></pay_i:datiPagamento></pay_i:RT>";
}

std::string operation_of(const std::string& e) {
  static const std::pair<const char*, const char*> elements[] = {
      {"paVerifyPaymentNoticeReq", "paVerifyPaymentNotice"},
      {"paGetPaymentReq", "paGetPayment"},
      {"paGetPaymentV2Request", "paGetPaymentV2"},
      {"paSendRTReq", "paSendRT"},
      {"paSendRTV2Request", "paSendRTV2"},
      {"paDemandPaymentNoticeRequest", "paDemandPaymentNotice"},
      {"paaVerificaRPT>", "paaVerificaRPT"},
      {"paaAttivaRPT>", "paaAttivaRPT"},
      {"paaInviaRT>", "paaInviaRT"},
      {"paaChiediNumeroAvviso>", "paaChiediNumeroAvviso"},
      {"paaInviaRichiestaRevoca>", "paaInviaRichiestaRevoca"},
      {"paaInviaEsitoStorno>", "paaInviaEsitoStorno"},
  };
  const auto body = e.find("Body>");
  const std::string_view rest =
      body == std::string::npos ? std::string_view(e) : std::string_view(e).substr(body);
  for (const auto& [el, op] : elements)
    if (rest.find(el) != std::string_view::npos) return op;
  return {};
}

answer read_answer(unsigned http_status, std::string body, const std::vector<std::string>& wanted) {
  answer a;
  a.http_status = http_status;
  auto doc = nodo::xml_document::parse(body);
  a.body = std::move(body);
  if (!doc) return a;
  xmlNode* root = doc->root();
  a.outcome =
      nodo::find_text(root, "outcome").value_or(nodo::find_text(root, "esito").value_or(""));
  a.fault_code =
      nodo::find_text(root, "faultCode").value_or(nodo::find_text(root, "faultcode").value_or(""));
  a.fault_description = nodo::find_text(root, "description")
                            .value_or(nodo::find_text(root, "faultstring").value_or(""));
  for (const auto& w : wanted)
    if (auto t = nodo::find_text(root, w)) a.fields[w] = *t;
  return a;
}

std::optional<payment_info> read_payment(const answer& a) {
  auto doc = nodo::xml_document::parse(a.body);
  if (!doc) return std::nullopt;
  xmlNode* data = nodo::find_element(doc->root(), "data");
  if (data == nullptr) return std::nullopt;
  payment_info p;
  p.iuv = nodo::find_text(data, "creditorReferenceId").value_or("");
  p.amount =
      core::parse_decimal_amount(nodo::find_text(data, "paymentAmount").value_or("")).value_or(0);
  p.description = nodo::find_text(data, "description").value_or("");
  p.company_name = nodo::find_text(data, "companyName").value_or("");
  xmlNode* debtor = nodo::find_element(data, "debtor");
  p.debtor.type = nodo::find_text(debtor, "entityUniqueIdentifierType").value_or("F");
  p.debtor.fiscal_code = nodo::find_text(debtor, "entityUniqueIdentifierValue").value_or("");
  p.debtor.full_name = nodo::find_text(debtor, "fullName").value_or("");
  for (xmlNode* t : nodo::child_elements(nodo::find_element(data, "transferList"), "transfer")) {
    receipt_transfer x;
    x.index = std::stoi(nodo::find_text(t, "idTransfer").value_or("1"));
    x.amount =
        core::parse_decimal_amount(nodo::find_text(t, "transferAmount").value_or("")).value_or(0);
    x.fiscal_code = nodo::find_text(t, "fiscalCodePA").value_or("");
    x.iban = nodo::find_text(t, "IBAN").value_or("IT97U0503411701000000001234");
    x.remittance = nodo::find_text(t, "remittanceInformation").value_or("");
    x.category = nodo::find_text(t, "transferCategory").value_or("");
    p.transfers.push_back(std::move(x));
  }
  return p;
}

receipt_spec receipt_for(const identity& id, const std::string& notice, const payment_info& info,
                         bool v2) {
  receipt_spec r;
  r.receipt_id = new_token();
  r.notice_number = notice;
  r.fiscal_code = id.entity;
  r.iuv = info.iuv;
  r.amount = info.amount;
  r.description = info.description.empty() ? r.description : info.description;
  r.company_name = info.company_name.empty() ? r.company_name : info.company_name;
  if (!info.debtor.fiscal_code.empty()) r.debtor = info.debtor;
  r.transfers = info.transfers;
  r.payer = party{"F", "VRDGPP75C15F205X", "Giuseppe Verdi"};
  r.v2 = v2;
  return r;
}

connection::connection(const std::string& url, std::chrono::milliseconds timeout)
    : socket_(ioc_), timeout_(timeout) {
  std::string_view u = url;
  if (!u.starts_with("http://")) throw std::invalid_argument("only http:// URLs: " + url);
  u.remove_prefix(7);
  u = u.substr(0, u.find('/'));
  const auto colon = u.rfind(':');
  if (colon == std::string_view::npos) {
    host_ = std::string(u);
    port_ = "80";
  } else {
    host_ = std::string(u.substr(0, colon));
    port_ = std::string(u.substr(colon + 1));
  }
  if (host_.starts_with('[') && host_.ends_with(']')) host_ = host_.substr(1, host_.size() - 2);
}

connection::~connection() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

void connection::connect() {
  boost::system::error_code ec;
  socket_.close(ec);
  tcp::resolver resolver(ioc_);
  boost::asio::connect(socket_, resolver.resolve(host_, port_));
  socket_.set_option(tcp::no_delay(true));
  // The deadline of each exchange: a station that does not answer fails the call.
  const auto tv_sec = static_cast<long>(timeout_.count() / 1000);
  const timeval tv{tv_sec, static_cast<long>((timeout_.count() % 1000) * 1000)};
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  buffer_.clear();
  open_ = true;
}

answer connection::post(const std::string& path, const std::string& envelope_text,
                        const std::vector<std::string>& wanted, std::string action,
                        const std::map<std::string, std::string>& headers) {
  if (action.empty()) action = operation_of(envelope_text);
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, host_ + ":" + port_);
  req.set(http::field::content_type, "text/xml; charset=utf-8");
  req.set("SOAPAction", "\"" + action + "\"");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.keep_alive(true);
  req.body() = envelope_text;
  req.prepare_payload();
  for (int attempt = 0;; ++attempt) {
    try {
      if (!open_) connect();
      http::write(socket_, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      http::read(socket_, buffer_, parser);
      auto res = parser.release();
      if (!res.keep_alive()) open_ = false;
      return read_answer(res.result_int(), std::move(res.body()), wanted);
    } catch (const boost::system::system_error&) {
      open_ = false;
      // A kept-alive connection the server closed meanwhile: one fresh attempt.
      if (attempt > 0) throw;
    }
  }
}

}  // namespace pagohub::nodo_sim
