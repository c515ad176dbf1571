#pragma once
// What nodo-sim says to a station, and how it reads the answers: the messages pagoPA's Nodo
// sends (DIGEST §1, §2.1) built as text, a keep-alive HTTP/1.1 connection over Beast, and the
// answers read with libxml2. Shared by the nodo-sim program and the end-to-end tests.
#include <pagohub/core/amount.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pagohub::nodo_sim {

/// The station nodo-sim talks to, and as whom. Defaults = the demo configuration.
struct identity {
  std::string broker = "15376371009";
  std::string station = "15376371009_01";
  std::string entity = "01234567897";
};

/// A party of a receipt (ctSubject).
struct party {
  std::string type = "F";
  std::string fiscal_code = "RSSMRA80A01H501U";
  std::string full_name = "Mario Rossi";
};

struct receipt_transfer {
  int index = 1;
  core::amount_cents amount = 0;
  std::string fiscal_code;
  std::string iban = "IT97U0503411701000000001234";
  std::string remittance = "Pagamento";
  std::string category = "9/0101002IM/";
};

/// A receipt as the Nodo builds it after a payment (ctReceipt / ctReceiptV2).
struct receipt_spec {
  std::string receipt_id;
  std::string notice_number;
  std::string fiscal_code;  ///< the notice's entity
  std::string outcome = "OK";
  std::string iuv;
  core::amount_cents amount = 0;
  std::string description = "Pagamento avviso";
  std::string company_name = "Comune di Esempio";
  party debtor;
  std::vector<receipt_transfer> transfers;
  std::string psp_id = "BCITITMM";
  std::string psp_name = "Banca Esempio S.p.A.";
  std::string psp_fiscal_code = "00799960158";
  std::string channel_id = "00799960158_01";
  std::string channel_description = "app";
  std::optional<party> payer;
  std::string payment_method = "creditCard";
  core::amount_cents fee = 150;
  std::string payment_date_time;  ///< "YYYY-MM-DDThh:mm:ss"; empty = now (Rome time)
  bool stand_in = false;
  bool v2 = true;
};

/// The request envelopes (SOAP 1.1, the wrapper qualified, its children not: DIGEST §0).
std::string verify_xml(const identity& id, const std::string& notice);
std::string get_payment_xml(const identity& id, const std::string& notice, bool v2,
                            const std::optional<std::string>& transfer_type = std::nullopt);
std::string send_rt_xml(const identity& id, const receipt_spec& r);
std::string demand_xml(const identity& id, const std::string& id_servizio,
                       const std::string& service_data_xml);
/// Old model: intestazionePPT in the SOAP header.
std::string verifica_rpt_xml(const identity& id, const std::string& iuv, const std::string& ccp,
                             const std::string& psp);
std::string attiva_rpt_xml(const identity& id, const std::string& iuv, const std::string& ccp,
                           const std::string& psp, core::amount_cents amount);
std::string invia_rt_xml(const identity& id, const std::string& iuv, const std::string& ccp,
                         const std::string& rt_document);
/// An RT (PagInf_RPT_RT_6_2_0.xsd) for a payment of `amount` with esito `esito` (0 = paid).
std::string rt_document(const identity& id, const std::string& iuv, const std::string& ccp,
                        core::amount_cents amount, const std::string& esito = "0");

/// The SOAPAction of a request envelope (its body element's operation).
std::string operation_of(const std::string& envelope);

/// What a station answered.
struct answer {
  unsigned http_status = 0;
  std::string body;
  std::string outcome;  ///< outcome (current model) or esito (old model); empty if none
  std::string fault_code, fault_description;
  /// Text of the first element with each of these names, when present.
  std::map<std::string, std::string> fields;
};

/// Reads an answer body: outcome/esito, faultCode, description, and the text of the
/// first element named in `wanted` (e.g. "paymentAmount", "noticeNumber").
answer read_answer(unsigned http_status, std::string body,
                   const std::vector<std::string>& wanted = {});

/// The payment data of a paGetPayment(V2) answer, enough to build its receipt.
struct payment_info {
  std::string iuv;
  core::amount_cents amount = 0;
  std::string description;
  std::string company_name;
  party debtor;
  std::vector<receipt_transfer> transfers;
};

/// Reads the payment data of a paGetPayment(V2) answer; nullopt when it has none (a KO).
std::optional<payment_info> read_payment(const answer& a);

/// A receipt for `info`, as the Nodo would send it after the PSP collected the money.
receipt_spec receipt_for(const identity& id, const std::string& notice, const payment_info& info,
                         bool v2 = true);

/// One keep-alive HTTP/1.1 connection to the station, reconnecting when the server closed it.
class connection {
 public:
  /// `url` is http://host:port (path ignored); throws std::invalid_argument otherwise.
  explicit connection(const std::string& url,
                      std::chrono::milliseconds timeout = std::chrono::seconds(15));
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// POSTs `envelope` to `path` with SOAPAction `action` (default: the body's operation).
  /// Throws boost::system::system_error when the station cannot be reached or does not answer.
  answer post(const std::string& path, const std::string& envelope,
              const std::vector<std::string>& wanted = {}, std::string action = {},
              const std::map<std::string, std::string>& headers = {});

  const std::string& host() const noexcept { return host_; }

 private:
  void connect();
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  std::string host_;
  std::string port_;
  std::chrono::milliseconds timeout_;
  bool open_ = false;
};

/// The endpoint paths of the two models.
inline constexpr const char* current_model_path = "/pagopa/paForNode";
inline constexpr const char* old_model_path = "/pagopa/PaPerNodo";

/// "YYYY-MM-DDThh:mm:ss" for now, in Italian civil time.
std::string rome_now();

/// A new receipt id: 32 lowercase hex characters, like the Nodo's payment tokens.
std::string new_token();

}  // namespace pagohub::nodo_sim
