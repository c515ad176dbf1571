// The loopback back-office of loopback_bo.hpp.
#include "loopback_bo.hpp"

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

#include <optional>
#include <thread>

namespace pagohub::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct loopback_bo::impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  mutable std::mutex mutex;
  std::map<std::string, script> scripts;
  std::map<std::string, int> counts;
  std::thread thread;

  std::optional<script> lookup(const std::string& target) {
    constexpr std::string_view prefix = "/notices/";
    if (!std::string_view(target).starts_with(prefix)) return std::nullopt;
    const std::string notice = target.substr(prefix.size());
    std::lock_guard lock(mutex);
    ++counts[notice];
    auto it = scripts.find(notice);
    if (it == scripts.end()) return std::nullopt;
    return it->second;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] =
          co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      const auto s = req.method() == http::verb::get ? lookup(std::string(req.target()))
                                                     : std::optional<script>();
      http::response<http::string_body> res{static_cast<http::status>(s ? s->status : 404u),
                                            req.version()};
      if (s && s->delay.count() > 0) {
        asio::steady_timer t(stream.get_executor(), s->delay);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      res.set(http::field::content_type, s ? s->content_type : "application/problem+json");
      res.keep_alive(req.keep_alive());
      res.body() = s ? s->body : std::string("{\"title\":\"Not Found\",\"status\":404}");
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  asio::awaitable<void> listen() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
    }
  }
};

loopback_bo::loopback_bo() : impl_(std::make_unique<impl>()) {
  asio::co_spawn(impl_->ioc, impl_->listen(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

loopback_bo::~loopback_bo() {
  impl_->ioc.stop();
  impl_->thread.join();
}

unsigned short loopback_bo::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string loopback_bo::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

void loopback_bo::set(const std::string& notice, script s) {
  std::lock_guard lock(impl_->mutex);
  impl_->scripts[notice] = std::move(s);
}

int loopback_bo::lookups(const std::string& notice) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->counts.find(notice);
  return it == impl_->counts.end() ? 0 : it->second;
}

}  // namespace pagohub::test_support
