// nodo-sim: plays pagoPA's Nodo against a running pagohubd (client mode), or answers the
// PA->Nodo primitives a station calls (server mode). See the README section "nodo-sim",
// tools/nodo-sim/README.md and docs/pagopa.md.
#include <pagohub/core/amount.hpp>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "nodo_client.hpp"
#include "nodo_server.hpp"

namespace {

using namespace pagohub::nodo_sim;
using clock_type = std::chrono::steady_clock;

constexpr const char* usage = R"(usage: nodo-sim COMMAND [options]

Plays pagoPA's Nodo against a pagohub station (SOAP 1.1 over HTTP, loopback).

commands:
  pay --notice N              paVerifyPaymentNotice -> paGetPaymentV2 -> paSendRTV2
  replay-receipt --notice N --receipt-id ID [--times K]
                              deliver the receipt ID for notice N K times (default 2)
  standin-receipt --notice N --amount CENTS
                              a receipt paid in stand-in (the station was bypassed)
  old-model-pay --notice N [--wait-rpt URL]
                              paaVerificaRPT -> paaAttivaRPT -> paaInviaRT (2018 model); with
                              --wait-rpt, paaInviaRT waits (up to 30 s) until the nodo-sim server
                              at URL received the station's nodoInviaRPT, as the Nodo would
  load --notices FILE [--rate R] [--duration S] [--mix V:G:S] [--connections C]
                              drive verify/getPayment/sendRT over the notices of FILE (one per
                              line) for S seconds (default 10, at most 600) at R payment cycles
                              per second (0 = as fast as possible); prints throughput and latency

options:
  --url URL        station base URL (default http://127.0.0.1:8080; loopback only for load)
  --entity CF      creditor entity (default 01234567897)
  --broker ID      broker (default 15376371009)
  --station ID     station (default 15376371009_01)
  --v1             use paGetPayment / paSendRT instead of the V2 primitives
  --secret VALUE   shared secret header value, when the station asks for one
  --secret-header NAME  its header (default Ocp-Apim-Subscription-Key)

server mode (plays the Nodo toward a station: answers the PA->Nodo primitives):
  serve --script FILE [--port P] [--address A] [--contract DIR] [--dump FILE]
                              answers nodoInviaRPT, nodoChiediCopiaRT, nodoChiediInformativaPSP,
                              nodoInviaRichiestaStorno, nodoInviaAvvisoDigitale and the reporting
                              flow primitives from the JSON script FILE (tools/nodo-sim/README.md),
                              with the faults and delays it injects; records every request
                              (GET /_sim/requests), checks them against the contract in DIR,
                              writes them to the --dump FILE at exit (SIGINT/SIGTERM)
)";

struct options {
  std::string command;
  std::string url = "http://127.0.0.1:8080";
  identity id;
  std::string notice;
  std::string receipt_id;
  std::string notices_file;
  int times = 2;
  long long amount = 0;
  double rate = 0;
  int duration = 10;
  int connections = 4;
  std::string mix = "1:1:1";
  bool v1 = false;
  std::map<std::string, std::string> headers;
  // serve
  std::string script;
  std::string address = "127.0.0.1";
  int port = 0;
  std::string contract;
  std::string dump;
  std::string wait_rpt;
};

std::optional<options> parse(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  options o;
  o.command = argv[1];
  std::string secret_header = "Ocp-Apim-Subscription-Key";
  std::string secret;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url")
      o.url = value();
    else if (a == "--entity")
      o.id.entity = value();
    else if (a == "--broker")
      o.id.broker = value();
    else if (a == "--station")
      o.id.station = value();
    else if (a == "--notice")
      o.notice = value();
    else if (a == "--receipt-id")
      o.receipt_id = value();
    else if (a == "--notices")
      o.notices_file = value();
    else if (a == "--times")
      o.times = std::stoi(value());
    else if (a == "--amount")
      o.amount = std::stoll(value());
    else if (a == "--rate")
      o.rate = std::stod(value());
    else if (a == "--duration")
      o.duration = std::stoi(value());
    else if (a == "--connections")
      o.connections = std::stoi(value());
    else if (a == "--mix")
      o.mix = value();
    else if (a == "--v1")
      o.v1 = true;
    else if (a == "--script")
      o.script = value();
    else if (a == "--port")
      o.port = std::stoi(value());
    else if (a == "--address")
      o.address = value();
    else if (a == "--contract")
      o.contract = value();
    else if (a == "--wait-rpt")
      o.wait_rpt = value();
    else if (a == "--dump")
      o.dump = value();
    else if (a == "--secret")
      secret = value();
    else if (a == "--secret-header")
      secret_header = value();
    else
      throw std::invalid_argument("unknown option " + a);
  }
  if (!secret.empty()) o.headers[secret_header] = secret;
  return o;
}

void show(const char* step, const answer& a) {
  std::cout << step << ": HTTP " << a.http_status << " "
            << (a.outcome.empty() ? std::string("(no outcome)") : a.outcome);
  if (!a.fault_code.empty()) std::cout << " " << a.fault_code << " - " << a.fault_description;
  std::cout << "\n";
}

int pay(const options& o) {
  connection c(o.url);
  const auto v = c.post(current_model_path, verify_xml(o.id, o.notice), {"amount"}, {}, o.headers);
  show("paVerifyPaymentNotice", v);
  if (v.outcome != "OK") return 1;
  std::cout << "  amount due: " << v.fields.at("amount") << "\n";
  const auto g =
      c.post(current_model_path, get_payment_xml(o.id, o.notice, !o.v1), {}, {}, o.headers);
  show(o.v1 ? "paGetPayment" : "paGetPaymentV2", g);
  const auto info = read_payment(g);
  if (g.outcome != "OK" || !info) return 1;
  std::cout << "  IUV " << info->iuv << ", " << info->transfers.size() << " transfer(s)\n";
  const auto r = receipt_for(o.id, o.notice, *info, !o.v1);
  const auto s = c.post(current_model_path, send_rt_xml(o.id, r), {}, {}, o.headers);
  show(o.v1 ? "paSendRT" : "paSendRTV2", s);
  std::cout << "  receiptId " << r.receipt_id << "\n";
  return s.outcome == "OK" ? 0 : 1;
}

int replay(const options& o) {
  connection c(o.url);
  const auto g =
      c.post(current_model_path, get_payment_xml(o.id, o.notice, !o.v1), {}, {}, o.headers);
  payment_info info;
  if (auto p = read_payment(g)) {
    info = *p;
  } else {
    // Already paid (or unknown): the receipt is rebuilt from the notice alone.
    info.iuv = o.notice.substr(1);
    info.amount = o.amount > 0 ? o.amount : 100;
    info.transfers.push_back({1, info.amount, o.id.entity});
  }
  auto r = receipt_for(o.id, o.notice, info, !o.v1);
  if (!o.receipt_id.empty()) r.receipt_id = o.receipt_id;
  int failures = 0;
  for (int i = 0; i < o.times; ++i) {
    const auto s = c.post(current_model_path, send_rt_xml(o.id, r), {}, {}, o.headers);
    show(("delivery " + std::to_string(i + 1)).c_str(), s);
    if (s.outcome != "OK") ++failures;
  }
  std::cout << "  receiptId " << r.receipt_id << "\n";
  return failures == 0 ? 0 : 1;
}

int standin(const options& o) {
  if (o.amount <= 0) {
    std::cerr << "nodo-sim: standin-receipt needs --amount CENTS (the amount in ACA)\n";
    return 2;
  }
  connection c(o.url);
  payment_info info;
  info.iuv = o.notice.substr(1);
  info.amount = o.amount;
  info.transfers.push_back({1, o.amount, o.id.entity});
  auto r = receipt_for(o.id, o.notice, info, !o.v1);
  r.stand_in = true;
  const auto s = c.post(current_model_path, send_rt_xml(o.id, r), {}, {}, o.headers);
  show("paSendRT (standIn)", s);
  std::cout << "  receiptId " << r.receipt_id << "\n";
  return s.outcome == "OK" ? 0 : 1;
}

// Polls a nodo-sim server's GET /_sim/requests until it recorded a nodoInviaRPT for (iuv, ccp).
bool wait_for_rpt(const std::string& url, const std::string& iuv, const std::string& ccp) {
  namespace beast = boost::beast;
  const auto deadline = clock_type::now() + std::chrono::seconds(30);
  const auto rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  const auto colon = rest.find(':');
  const std::string host = rest.substr(0, colon);
  const std::string port =
      colon == std::string::npos ? "80" : rest.substr(colon + 1, rest.find('/', colon) - colon - 1);
  while (clock_type::now() < deadline) {
    try {
      boost::asio::io_context ioc;
      boost::asio::ip::tcp::resolver resolver(ioc);
      beast::tcp_stream stream(ioc);
      stream.connect(resolver.resolve(host, port));
      beast::http::request<beast::http::empty_body> req{beast::http::verb::get, "/_sim/requests",
                                                        11};
      req.set(beast::http::field::host, host);
      beast::http::write(stream, req);
      beast::flat_buffer buf;
      beast::http::response<beast::http::string_body> res;
      beast::http::read(stream, buf, res);
      for (const auto& r : nlohmann::json::parse(res.body())) {
        if (r.value("operation", "") != "nodoInviaRPT") continue;
        const auto& f = r["fields"];
        if (f.value("identificativoUnivocoVersamento", "") == iuv &&
            f.value("codiceContestoPagamento", "") == ccp)
          return true;
      }
    } catch (const std::exception&) {
      // not up yet, or not answering: try again until the deadline
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int old_model_pay(const options& o) {
  connection c(o.url);
  // Aux digit 3: the IUV is the notice without its first digit (DIGEST §5).
  const std::string iuv = o.notice.substr(1);
  const std::string ccp = new_token();
  const std::string psp = "BCITITMM";
  const auto v = c.post(old_model_path, verifica_rpt_xml(o.id, iuv, ccp, psp),
                        {"importoSingoloVersamento"}, {}, o.headers);
  show("paaVerificaRPT", v);
  if (v.outcome != "OK") return 1;
  const auto amount =
      pagohub::core::parse_decimal_amount(v.fields.at("importoSingoloVersamento")).value_or(0);
  const auto a =
      c.post(old_model_path, attiva_rpt_xml(o.id, iuv, ccp, psp, amount), {}, {}, o.headers);
  show("paaAttivaRPT", a);
  if (a.outcome != "OK") return 1;
  if (!o.wait_rpt.empty() && !wait_for_rpt(o.wait_rpt, iuv, ccp)) {
    std::cerr << "nodo-sim: no nodoInviaRPT for IUV " << iuv << " CCP " << ccp
              << " reached the nodo-sim server within 30 s\n";
    return 1;
  }
  const auto r =
      c.post(old_model_path, invia_rt_xml(o.id, iuv, ccp, rt_document(o.id, iuv, ccp, amount)), {},
             {}, o.headers);
  show("paaInviaRT", r);
  std::cout << "  IUV " << iuv << ", CCP " << ccp << "\n";
  return r.outcome == "OK" ? 0 : 1;
}

// --- load ------------------------------------------------------------------------------------

bool loopback(const std::string& host) {
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  return v[i];
}

int load(const options& o) {
  std::vector<std::string> notices;
  {
    std::ifstream in(o.notices_file);
    for (std::string line; std::getline(in, line);)
      if (line.size() == 18) notices.push_back(line);
  }
  if (notices.empty()) {
    std::cerr << "nodo-sim: load needs --notices FILE with 18-digit notice numbers\n";
    return 2;
  }
  int mix[3] = {1, 1, 1};
  if (std::sscanf(o.mix.c_str(), "%d:%d:%d", &mix[0], &mix[1], &mix[2]) != 3 || mix[0] < 0 ||
      mix[1] < 0 || mix[2] < 0 || mix[0] + mix[1] + mix[2] == 0) {
    std::cerr << "nodo-sim: --mix is V:G:S, three counts per cycle\n";
    return 2;
  }
  const int duration = std::clamp(o.duration, 1, 600);
  const int conns = std::clamp(o.connections, 1, 256);
  {
    connection probe(o.url);
    if (!loopback(probe.host())) {
      std::cerr << "nodo-sim: load runs against loopback addresses only\n";
      return 2;
    }
  }
  std::mutex mutex;
  std::vector<double> lat[3];
  std::atomic<long long> cycles{0}, errors{0}, faults{0};
  std::atomic<std::size_t> next{0};
  const auto start = clock_type::now();
  const auto stop_at = start + std::chrono::seconds(duration);
  auto worker = [&](int w) {
    connection c(o.url);
    std::vector<double> mine[3];
    long long done = 0;
    while (true) {
      auto now = clock_type::now();
      if (now >= stop_at) break;
      if (o.rate > 0) {
        // Open-loop pacing: this worker's share of the rate.
        const auto due =
            start + std::chrono::duration_cast<clock_type::duration>(
                        std::chrono::duration<double>(static_cast<double>(done) * conns / o.rate));
        if (due > now) std::this_thread::sleep_until(due);
        if (clock_type::now() >= stop_at) break;
      }
      const std::string& notice = notices[next.fetch_add(1) % notices.size()];
      try {
        std::optional<payment_info> info;
        auto timed = [&](int kind, const std::string& envelope) {
          const auto t0 = clock_type::now();
          auto a = c.post(current_model_path, envelope, {}, {}, o.headers);
          mine[kind].push_back(
              std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
          if (a.outcome != "OK") ++faults;
          return a;
        };
        for (int i = 0; i < mix[0]; ++i) timed(0, verify_xml(o.id, notice));
        for (int i = 0; i < mix[1]; ++i)
          info = read_payment(timed(1, get_payment_xml(o.id, notice, !o.v1)));
        for (int i = 0; i < mix[2]; ++i) {
          payment_info p = info.value_or(
              payment_info{notice.substr(1), 100, "", "", {}, {{1, 100, o.id.entity}}});
          timed(2, send_rt_xml(o.id, receipt_for(o.id, notice, p, !o.v1)));
        }
        ++done;
        ++cycles;
      } catch (const std::exception&) {
        ++errors;
      }
    }
    std::lock_guard lock(mutex);
    for (int k = 0; k < 3; ++k) lat[k].insert(lat[k].end(), mine[k].begin(), mine[k].end());
    (void)w;
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < conns; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  const char* names[3] = {"verify", "getPayment", "sendRT"};
  std::cout << "load: " << conns << " connections, " << secs << " s, mix " << o.mix << "\n";
  std::cout << "cycles: " << cycles.load() << " (" << static_cast<double>(cycles.load()) / secs
            << "/s), transport errors " << errors.load() << ", KO answers " << faults.load()
            << "\n";
  for (int k = 0; k < 3; ++k) {
    if (lat[k].empty()) continue;
    auto& v = lat[k];
    const auto n = v.size();
    std::cout << names[k] << ": " << n << " calls, " << static_cast<double>(n) / secs
              << "/s, latency ms p50 " << percentile(v, 50) << " p90 " << percentile(v, 90)
              << " p99 " << percentile(v, 99) << " max " << percentile(v, 100) << "\n";
  }
  return errors.load() == 0 ? 0 : 1;
}

// Server mode: runs until SIGINT or SIGTERM, then writes the recorded requests to --dump.
int serve(const options& o) {
  if (o.script.empty()) throw std::invalid_argument("serve needs --script FILE");
  if (o.port < 0 || o.port > 65535) throw std::invalid_argument("--port must be 0..65535");
  server_options so;
  so.address = o.address;
  so.port = static_cast<unsigned short>(o.port);
  if (!o.contract.empty()) so.contract_dir = o.contract;
  // Block the signals before any thread starts, so that sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  nodo_server server(load_script(o.script), so);
  const auto port = server.start();
  std::cout << "nodo-sim serve: listening on " << o.address << ":" << port << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  server.stop();
  if (!o.dump.empty()) {
    std::ofstream out(o.dump);
    out << server.requests_json().dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + o.dump);
  }
  std::cout << "nodo-sim serve: " << server.requests().size() << " requests received" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<options> o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "nodo-sim: " << e.what() << "\n\n" << usage;
    return 2;
  }
  if (!o || o->command == "--help" || o->command == "help") {
    std::cout << usage;
    return o ? 0 : 2;
  }
  const bool needs_notice = o->command != "load" && o->command != "serve";
  if (needs_notice && o->notice.size() != 18) {
    std::cerr << "nodo-sim: " << o->command << " needs --notice with 18 digits\n";
    return 2;
  }
  try {
    if (o->command == "pay") return pay(*o);
    if (o->command == "replay-receipt") return replay(*o);
    if (o->command == "standin-receipt") return standin(*o);
    if (o->command == "old-model-pay") return old_model_pay(*o);
    if (o->command == "load") return load(*o);
    if (o->command == "serve") return serve(*o);
  } catch (const std::exception& e) {
    std::cerr << "nodo-sim: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "nodo-sim: unknown command " << o->command << "\n\n" << usage;
  return 2;
}
