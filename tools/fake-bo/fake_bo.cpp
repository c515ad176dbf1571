#include "fake_bo.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <set>
#include <sstream>
#include <stdexcept>

namespace pagohub::fake_bo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

std::string base64(std::string_view in) {
  std::string out(beast::detail::base64::encoded_size(in.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), in.data(), in.size()));
  return out;
}
}  // namespace

std::string to_string(behaviour b) {
  switch (b) {
    case behaviour::ok:
      return "ok";
    case behaviour::fail_500:
      return "500";
    case behaviour::conflict:
      return "409";
    case behaviour::reject:
      return "400";
  }
  return "ok";
}

bool parse_behaviour(const std::string& text, behaviour& out) {
  if (text == "ok" || text == "200" || text == "204") {
    out = behaviour::ok;
  } else if (text == "500" || text == "fail") {
    out = behaviour::fail_500;
  } else if (text == "409" || text == "conflict") {
    out = behaviour::conflict;
  } else if (text == "400" || text == "reject") {
    out = behaviour::reject;
  } else {
    return false;
  }
  return true;
}

// Coroutines and handlers refer to the state by plain pointer. The state owns the io_context
// that runs them, and server::stop() joins its threads before the state can go: whatever is
// still suspended then is destroyed, not resumed, with the io_context, after every member
// declared below it. A shared_ptr in a suspended frame would keep the state, and with it that
// frame, alive for ever.
struct server::state {
  explicit state(server& o, settings s) : owner(o), cfg(std::move(s)) {
    if (cfg.record_file.empty()) {
      if (const char* file = std::getenv("PAGOHUB_FAKE_BO_RECORD")) cfg.record_file = file;
    }
  }

  // One write() per line on an O_APPEND file: several fakes, in several test processes, may
  // record into one file at once.
  void record(const http::request<http::string_body>& req) const {
    if (cfg.record_file.empty()) return;
    const nlohmann::json line = {{"method", std::string(req.method_string())},
                                 {"target", std::string(req.target())},
                                 {"idempotencyKey", std::string(req["Idempotency-Key"])},
                                 {"contentType", std::string(req[http::field::content_type])},
                                 {"body", req.body()}};
    const std::string text =
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    const int fd = ::open(cfg.record_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    [[maybe_unused]] const auto written = ::write(fd, text.data(), text.size());
    ::close(fd);
  }

  server& owner;
  settings cfg;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  asio::strand<asio::io_context::executor_type> control{asio::make_strand(ioc)};
  std::optional<tcp::acceptor> acceptor;  // only touched on `control`
  std::shared_ptr<ssl::context> tls;
  std::atomic<bool> up{false};
  nlohmann::json positions = nlohmann::json::object();

  std::mutex mutex;
  std::vector<received> log;
  std::set<std::string> acked;
  std::set<std::string> tokens;
  std::uint64_t next_session = 0;
  std::map<std::uint64_t, std::function<void()>> closers;

  void listen(unsigned short port) {
    tcp::endpoint ep(asio::ip::make_address(cfg.address), port);
    acceptor.emplace(control);
    acceptor->open(ep.protocol());
    // Not inherited by child processes (a test forks pagohubd after starting the fake): a
    // child holding the listening socket would keep the port after down().
    ::fcntl(acceptor->native_handle(), F_SETFD, FD_CLOEXEC);
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen(asio::socket_base::max_listen_connections);
    owner.port_ = acceptor->local_endpoint().port();
    up = true;
    asio::co_spawn(control, accept_loop(this), asio::detached);
  }

  static asio::awaitable<void> accept_loop(state* self) {
    for (;;) {
      if (!self->acceptor || !self->acceptor->is_open()) co_return;
      auto [ec, socket] =
          co_await self->acceptor->async_accept(asio::make_strand(self->ioc), use_nothrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !self->acceptor->is_open()) co_return;
        continue;
      }
      self->owner.connections_.fetch_add(1);
      ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
      auto ex = socket.get_executor();
      if (self->tls) {
        asio::co_spawn(ex, session_tls(self, std::move(socket)), asio::detached);
      } else {
        asio::co_spawn(ex, session_plain(self, std::move(socket)), asio::detached);
      }
    }
  }

  std::uint64_t register_closer(std::function<void()> fn) {
    std::lock_guard lock(mutex);
    const auto id = ++next_session;
    closers.emplace(id, std::move(fn));
    return id;
  }
  void forget(std::uint64_t id) {
    std::lock_guard lock(mutex);
    closers.erase(id);
  }

  static asio::awaitable<void> session_plain(state* self, tcp::socket socket) {
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    const auto id = self->register_closer([stream] {
      asio::post(stream->get_executor(), [stream] {
        boost::system::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream->socket().close(ignored);
      });
    });
    co_await serve(self, *stream);
    self->forget(id);
  }

  static asio::awaitable<void> session_tls(state* self, tcp::socket socket) {
    auto stream =
        std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(socket), *self->tls);
    const auto id = self->register_closer([stream] {
      asio::post(stream->get_executor(), [stream] {
        boost::system::error_code ignored;
        beast::get_lowest_layer(*stream).socket().close(ignored);
      });
    });
    beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(10));
    auto [ec] = co_await stream->async_handshake(ssl::stream_base::server, use_nothrow);
    beast::get_lowest_layer(*stream).expires_never();
    if (!ec) co_await serve(self, *stream);
    self->forget(id);
  }

  template <class Stream>
  static asio::awaitable<void> serve(state* self, Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, use_nothrow);
      if (ec) co_return;
      auto res = co_await self->handle(req);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  http::response<http::string_body> reply(const http::request<http::string_body>& req,
                                          http::status st, std::string body,
                                          std::string ct = "application/json") {
    http::response<http::string_body> res{st, req.version()};
    res.set(http::field::server, "fake-bo");
    if (!body.empty()) res.set(http::field::content_type, ct);
    res.body() = std::move(body);
    return res;
  }

  bool authorised(const http::request<http::string_body>& req) {
    if (!cfg.require_api_key.empty() && req["X-API-Key"] != cfg.require_api_key) return false;
    if (!cfg.require_basic.empty() &&
        req[http::field::authorization] != "Basic " + base64(cfg.require_basic)) {
      return false;
    }
    if (!cfg.oauth_client.empty()) {
      const std::string auth(req[http::field::authorization]);
      if (!auth.starts_with("Bearer ")) return false;
      std::lock_guard lock(mutex);
      return tokens.contains(auth.substr(7));
    }
    return true;
  }

  asio::awaitable<http::response<http::string_body>> handle(
      const http::request<http::string_body>& req) {
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const std::string query = path.size() < target.size() ? target.substr(path.size() + 1) : "";
    if (path.starts_with("/_control")) co_return control_request(req, path, query);
    if (path == "/oauth/token" && req.method() == http::verb::post) co_return token_request(req);

    // The contract's paths, under any prefix: .../receipts/{id}, .../events/{id},
    // .../notices/{n}.
    const auto last = path.rfind('/');
    const auto prev =
        last == std::string::npos || last == 0 ? std::string::npos : path.rfind('/', last - 1);
    const std::string collection =
        prev == std::string::npos ? "" : path.substr(prev + 1, last - prev - 1);
    const std::string id = last == std::string::npos ? "" : path.substr(last + 1);

    received r;
    r.method = std::string(req.method_string());
    r.target = target;
    r.idempotency_key = std::string(req["Idempotency-Key"]);
    r.authorization = std::string(req[http::field::authorization]);
    r.api_key = std::string(req["X-API-Key"]);
    r.request_id = std::string(req["X-Request-Id"]);
    if (cfg.record_bodies) r.body = req.body();
    record(req);

    const int delay = owner.delay_ms_.load();
    if (delay > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(delay));
      co_await t.async_wait(use_nothrow);
    }

    http::response<http::string_body> res;
    const behaviour mode = owner.mode_.load();
    const bool put = req.method() == http::verb::put &&
                     (collection == "receipts" || collection == "events") && !id.empty();
    const bool get_notice =
        req.method() == http::verb::get && collection == "notices" && !id.empty();
    if (!put && !get_notice) {
      res = reply(req, http::status::not_found,
                  R"({"title":"Not Found","status":404,"detail":"no such path"})",
                  "application/problem+json");
    } else if (!authorised(req)) {
      res = reply(req, http::status::unauthorized, R"({"title":"Unauthorized","status":401})",
                  "application/problem+json");
    } else if (mode == behaviour::fail_500) {
      res = reply(req, http::status::internal_server_error,
                  R"({"title":"Internal Server Error","status":500,"detail":"switched to fail"})",
                  "application/problem+json");
    } else if (mode == behaviour::reject) {
      res = reply(req, http::status::bad_request,
                  R"({"title":"Bad Request","status":400,"detail":"switched to reject",)"
                  R"("errors":[{"path":"/receiptId","message":"refused by the fake"}]})",
                  "application/problem+json");
    } else if (get_notice) {
      res = positions.contains(id)
                ? reply(req, http::status::ok, positions[id].dump())
                : reply(req, http::status::not_found,
                        R"({"title":"Not Found","status":404,"detail":"unknown notice"})",
                        "application/problem+json");
    } else if (mode == behaviour::conflict) {
      res = reply(req, http::status::conflict,
                  R"({"title":"Conflict","status":409,"detail":"already have it"})",
                  "application/problem+json");
    } else {
      res = reply(req, http::status::no_content, "");
    }
    r.answered = res.result_int();
    {
      std::lock_guard lock(mutex);
      r.seq = owner.count_.fetch_add(1) + 1;
      if (put && (r.answered / 100 == 2 || r.answered == 409)) acked.insert(r.idempotency_key);
      if (cfg.record_bodies) {
        log.push_back(std::move(r));
      } else {
        r.body.clear();
        log.push_back(std::move(r));
      }
    }
    co_return res;
  }

  http::response<http::string_body> token_request(const http::request<http::string_body>& req) {
    owner.token_requests_.fetch_add(1);
    if (cfg.oauth_client.empty() ||
        req[http::field::authorization] != "Basic " + base64(cfg.oauth_client) ||
        req.body().find("grant_type=client_credentials") == std::string::npos) {
      return reply(req, http::status::unauthorized, R"({"error":"invalid_client"})");
    }
    std::string token;
    {
      std::lock_guard lock(mutex);
      token = "tok-" + std::to_string(tokens.size() + 1);
      tokens.insert(token);
    }
    nlohmann::json j = {
        {"access_token", token}, {"token_type", "Bearer"}, {"expires_in", cfg.oauth_expires_in}};
    return reply(req, http::status::ok, j.dump());
  }

  static std::string query_value(const std::string& query, const std::string& name) {
    std::istringstream in(query);
    std::string item;
    while (std::getline(in, item, '&')) {
      const auto eq = item.find('=');
      if (item.substr(0, eq) == name) return eq == std::string::npos ? "" : item.substr(eq + 1);
    }
    return {};
  }

  http::response<http::string_body> control_request(const http::request<http::string_body>& req,
                                                    const std::string& path,
                                                    const std::string& query) {
    if (path == "/_control/received" && req.method() == http::verb::get) {
      return reply(req, http::status::ok, owner.log_json());
    }
    if (path == "/_control/clear" && req.method() == http::verb::post) {
      owner.clear();
      return reply(req, http::status::no_content, "");
    }
    if (path == "/_control/down" && req.method() == http::verb::post) {
      // Down for a while: nothing else could bring it back up over HTTP.
      const std::string ms = query_value(query, "for_ms");
      const int for_ms = ms.empty() ? 1000 : std::stoi(ms);
      state* self = this;
      asio::post(control, [self, for_ms] {
        self->go_down();
        auto t =
            std::make_shared<asio::steady_timer>(self->control, std::chrono::milliseconds(for_ms));
        t->async_wait([self, t](boost::system::error_code) {
          try {
            self->listen(self->owner.port_);
          } catch (const std::exception&) {
            // The port was taken meanwhile: stay down (the tool reports is_up() false).
          }
        });
      });
      return reply(req, http::status::accepted, "");
    }
    if (path == "/_control" && req.method() == http::verb::post) {
      const std::string mode = query_value(query, "mode");
      if (!mode.empty()) {
        behaviour b;
        if (!parse_behaviour(mode, b)) {
          return reply(req, http::status::bad_request, R"({"detail":"mode: ok|500|409|400"})");
        }
        owner.set_mode(b);
      }
      const std::string delay = query_value(query, "delay_ms");
      if (!delay.empty()) owner.set_delay(std::chrono::milliseconds(std::stoi(delay)));
      return reply(
          req, http::status::ok,
          nlohmann::json{{"mode", to_string(owner.mode())}, {"delayMs", owner.delay_ms_.load()}}
              .dump());
    }
    return reply(req, http::status::not_found, "");
  }

  // On `control`: stop accepting and drop every connection.
  void go_down() {
    up = false;
    if (acceptor) {
      boost::system::error_code ignored;
      acceptor->close(ignored);
    }
    std::map<std::uint64_t, std::function<void()>> all;
    {
      std::lock_guard lock(mutex);
      all.swap(closers);
    }
    for (auto& [id, fn] : all) fn();
  }
};

server::server(settings s) : mode_(s.mode), delay_ms_(s.delay_ms) {
  state_ = std::make_shared<state>(*this, std::move(s));
  auto& cfg = state_->cfg;
  if (!cfg.positions_file.empty()) {
    std::ifstream in(cfg.positions_file);
    if (!in) throw std::runtime_error("cannot read " + cfg.positions_file);
    state_->positions = nlohmann::json::parse(in);
    if (!state_->positions.is_object()) {
      throw std::runtime_error(cfg.positions_file + ": must be an object noticeNumber -> position");
    }
  }
  if (!cfg.cert_file.empty()) {
    state_->tls = std::make_shared<ssl::context>(ssl::context::tls_server);
    state_->tls->use_certificate_chain_file(cfg.cert_file);
    state_->tls->use_private_key_file(cfg.key_file, ssl::context::pem);
    if (!cfg.client_ca_file.empty()) {
      state_->tls->load_verify_file(cfg.client_ca_file);
      state_->tls->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
  }
}

server::~server() {
  stop();
}

unsigned short server::start() {
  auto& s = *state_;
  s.work.emplace(s.ioc.get_executor());
  std::promise<void> bound;
  auto f = bound.get_future();
  asio::post(s.control, [&] {
    try {
      s.listen(s.cfg.port);
      bound.set_value();
    } catch (...) {
      bound.set_exception(std::current_exception());
    }
  });
  for (int i = 0; i < std::max(1, s.cfg.threads); ++i)
    s.threads.emplace_back([&s] { s.ioc.run(); });
  f.get();
  return port_;
}

void server::down() {
  std::promise<void> done;
  auto f = done.get_future();
  asio::post(state_->control, [&] {
    state_->go_down();
    done.set_value();
  });
  f.get();
}

void server::up() {
  std::promise<void> done;
  auto f = done.get_future();
  asio::post(state_->control, [&] {
    try {
      state_->listen(port_);
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  f.get();
}

bool server::is_up() const noexcept {
  return state_->up.load();
}

void server::stop() {
  if (!state_ || state_->threads.empty()) return;
  if (is_up()) down();
  state_->work.reset();
  state_->ioc.stop();
  for (auto& t : state_->threads) t.join();
  state_->threads.clear();
}

std::vector<received> server::log() const {
  std::lock_guard lock(state_->mutex);
  return state_->log;
}

std::uint64_t server::distinct_acknowledged() const {
  std::lock_guard lock(state_->mutex);
  return state_->acked.size();
}

void server::clear() {
  std::lock_guard lock(state_->mutex);
  state_->log.clear();
  state_->acked.clear();
  count_ = 0;
}

std::string server::log_json() const {
  nlohmann::json items = nlohmann::json::array();
  std::uint64_t acked = 0;
  {
    std::lock_guard lock(state_->mutex);
    acked = state_->acked.size();
    for (const auto& r : state_->log) {
      items.push_back({{"seq", r.seq},
                       {"method", r.method},
                       {"target", r.target},
                       {"idempotencyKey", r.idempotency_key},
                       {"status", r.answered}});
    }
  }
  return nlohmann::json{{"count", count_.load()},
                        {"distinctAcknowledged", acked},
                        {"tokenRequests", token_requests_.load()},
                        {"received", std::move(items)}}
      .dump();
}

}  // namespace pagohub::fake_bo
