// Load client for the single-create benchmark (bench/rest-creates): N keep-alive connections,
// each PUTting new debt positions one after another, until a count or a time limit is reached.
// Prints one line of key=value figures for the driver script to tabulate.
//
//   bench_rest_creates --port P --key K [--entity FC] [--connections 32] [--count 20000]
//                      [--seconds 20] [--prefix b]
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using clock_type = std::chrono::steady_clock;

struct options {
  unsigned short port = 0;
  std::string key;
  std::string entity = "01234567897";
  int connections = 32;
  long count = 20000;
  double seconds = 20;
  std::string prefix = "b";
};

struct shared_state {
  const options& opt;
  std::string body_head;  // the body up to the amount
  std::atomic<long> next{0};
  std::atomic<long> errors{0};
  clock_type::time_point deadline;
  std::vector<std::vector<double>> latencies;  // per connection, milliseconds
  std::map<unsigned, long> statuses;           // written after the run only
  std::vector<std::map<unsigned, long>> per_conn_statuses;
};

std::string position_body(int year) {
  const std::string y = std::to_string(year);
  return R"({"debtor":{"type":"F","fiscalCode":"RSSMRA80A01H501U","fullName":"Mario Rossi"},)"
         R"("description":"Benchmark position","serviceCode":"TARI","referenceYear":)" +
         std::to_string(year - 1) +
         R"(,"paymentOptions":[{"kind":"SINGLE","amount":12000,"dueDate":")" + y +
         R"(-12-31","description":"Rata unica","transfers":[{"index":1,"amount":12000,)"
         R"("remittanceInformation":"Benchmark"}]}]})";
}

asio::awaitable<void> connection(shared_state& s, int index) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), s.opt.port);
  co_await stream.async_connect(ep, asio::use_awaitable);
  stream.socket().set_option(asio::ip::tcp::no_delay(true));
  beast::flat_buffer buffer;
  auto& lat = s.latencies[static_cast<std::size_t>(index)];
  auto& statuses = s.per_conn_statuses[static_cast<std::size_t>(index)];
  const std::string base = "/api/v1/entities/" + s.opt.entity + "/positions/";
  for (;;) {
    const long n = s.next.fetch_add(1);
    if (n >= s.opt.count || clock_type::now() >= s.deadline) break;
    http::request<http::string_body> req{http::verb::put,
                                         base + s.opt.prefix + "-" + std::to_string(n), 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + s.opt.key);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = s.body_head;
    req.prepare_payload();
    const auto started = clock_type::now();
    co_await http::async_write(stream, req, asio::use_awaitable);
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, asio::use_awaitable);
    lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - started).count());
    ++statuses[res.result_int()];
    if (res.result_int() != 201) s.errors.fetch_add(1);
    if (!res.keep_alive()) break;
  }
  beast::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double average(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

int usage() {
  std::cerr << "usage: bench_rest_creates --port P --key K [--entity FC] [--connections N] "
               "[--count N] [--seconds S] [--prefix P]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--port") {
      opt.port = static_cast<unsigned short>(std::stoi(value));
    } else if (name == "--key") {
      opt.key = value;
    } else if (name == "--entity") {
      opt.entity = value;
    } else if (name == "--connections") {
      opt.connections = std::stoi(value);
    } else if (name == "--count") {
      opt.count = std::stol(value);
    } else if (name == "--seconds") {
      opt.seconds = std::stod(value);
    } else if (name == "--prefix") {
      opt.prefix = value;
    } else {
      return usage();
    }
  }
  if (opt.port == 0 || opt.key.empty() || opt.connections < 1) return usage();

  const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  const int year = static_cast<int>(std::chrono::year_month_day(today).year()) + 1;
  shared_state s{opt, position_body(year), {}, {}, {}, {}, {}, {}};
  s.latencies.resize(static_cast<std::size_t>(opt.connections));
  s.per_conn_statuses.resize(static_cast<std::size_t>(opt.connections));

  // One thread: the client must cost the machine as little as possible (the daemon and
  // PostgreSQL share it).
  asio::io_context ioc(1);
  const auto started = clock_type::now();
  s.deadline = started + std::chrono::duration_cast<clock_type::duration>(
                             std::chrono::duration<double>(opt.seconds));
  std::atomic<int> failed{0};
  for (int c = 0; c < opt.connections; ++c) {
    asio::co_spawn(ioc, connection(s, c), [&failed](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "connection failed: " << ex.what() << "\n";
      }
      ++failed;
    });
  }
  ioc.run();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - started).count();

  std::vector<double> all;
  for (auto& v : s.latencies) all.insert(all.end(), v.begin(), v.end());
  for (const auto& m : s.per_conn_statuses)
    for (const auto& [st, n] : m) s.statuses[st] += n;
  const long done = static_cast<long>(all.size());
  const long created = s.statuses[201];
  std::printf(
      "requests=%ld created=%ld errors=%ld failed_connections=%d seconds=%.3f rate=%.1f "
      "avg_ms=%.2f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      done, created, s.errors.load(), failed.load(), elapsed,
      static_cast<double>(created) / elapsed, average(all), percentile(all, 0.50),
      percentile(all, 0.99), all.empty() ? 0.0 : *std::max_element(all.begin(), all.end()));
  for (const auto& [st, n] : s.statuses)
    if (st != 201) std::fprintf(stderr, "status %u: %ld responses\n", st, n);
  return (created > 0 && failed.load() == 0) ? 0 : 1;
}
