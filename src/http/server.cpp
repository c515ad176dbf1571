#include <pagohub/http/server.hpp>

#include "session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace pagohub::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Out of descriptors or kernel memory: accepting again at once fails again at once (the
// pending connection stays in the backlog), so the loop would spin and flood the log.
bool out_of_resources(const boost::system::error_code& ec) {
  using boost::system::errc::errc_t;
  return ec == errc_t::too_many_files_open || ec == errc_t::too_many_files_open_in_system ||
         ec == errc_t::no_buffer_space || ec == errc_t::not_enough_memory;
}

constexpr auto accept_pause = std::chrono::milliseconds(100);
constexpr auto accept_log_period = std::chrono::seconds(10);

}  // namespace

struct server::listener_state {
  listener_spec spec;
  tcp::acceptor acceptor;
  listener_state(listener_spec s, tcp::acceptor a) : spec(std::move(s)), acceptor(std::move(a)) {}

  // At most one line per period, with the count of the failures it stood for. Called only
  // from the accept loop, which runs on the acceptor's strand.
  void log_accept_failure(const boost::system::error_code& ec, bool pausing) {
    const auto now = std::chrono::steady_clock::now();
    if (last_failure_log_ != std::chrono::steady_clock::time_point{} &&
        now - last_failure_log_ < accept_log_period) {
      ++failures_not_logged_;
      return;
    }
    last_failure_log_ = now;
    const auto more = std::exchange(failures_not_logged_, 0);
    spdlog::warn(
        "listener '{}': accept failed: {}{}{}", spec.name, ec.message(),
        pausing ? "; pausing accepts briefly" : "",
        more > 0 ? " (" + std::to_string(more) + " more failures since the last report)" : "");
  }

 private:
  std::chrono::steady_clock::time_point last_failure_log_{};
  std::uint64_t failures_not_logged_ = 0;
};

server::server(asio::io_context& ioc, server_settings settings,
               std::shared_ptr<const router> routes, metrics_registry& metrics)
    : ioc_(ioc),
      settings_(settings),
      routes_(std::move(routes)),
      metrics_(metrics),
      refused_(std::make_shared<refusal_counts>()) {
  metrics_.add_collector([refused = refused_](std::string& out) {
    out +=
        "# HELP pagohub_http_connections_refused_total Connections closed on arrival because "
        "a connection cap was reached.\n"
        "# TYPE pagohub_http_connections_refused_total counter\n";
    out += "pagohub_http_connections_refused_total{cap=\"max_connections\"} " +
           std::to_string(refused->max_connections.load(std::memory_order_relaxed)) + "\n";
    out += "pagohub_http_connections_refused_total{cap=\"max_connections_per_address\"} " +
           std::to_string(refused->per_address.load(std::memory_order_relaxed)) + "\n";
  });
}

server::~server() = default;

std::vector<tcp::endpoint> server::start(const std::vector<listener_spec>& listeners) {
  std::vector<tcp::endpoint> bound;
  for (const auto& spec : listeners) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(spec.address, ec);
    if (ec)
      throw std::runtime_error("listener '" + spec.name + "': bad address '" + spec.address + "'");
    tcp::endpoint ep{address, spec.port};
    // The acceptor lives on its own strand so shutdown() can close it from any thread.
    tcp::acceptor acceptor{asio::make_strand(ioc_)};
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("listener '" + spec.name + "' on " + spec.address + ":" +
                               std::to_string(spec.port) + ": " + ec.message());
    bound.push_back(acceptor.local_endpoint());
    listeners_.push_back(std::make_shared<listener_state>(spec, std::move(acceptor)));
  }
  for (std::size_t i = 0; i < listeners_.size(); ++i) accept_loop(i);
  return bound;
}

void server::accept_loop(std::size_t index) {
  auto state = listeners_[index];
  asio::co_spawn(
      state->acceptor.get_executor(),
      [this, state]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await state->acceptor.async_accept(
              asio::make_strand(ioc_), asio::as_tuple(asio::use_awaitable));
          if (ec) {
            if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
            const bool pause = out_of_resources(ec);
            state->log_accept_failure(ec, pause);
            if (pause) {
              // Connections that end meanwhile give their descriptors back; shutdown() closes
              // the acceptor, which the next accept notices.
              asio::steady_timer timer(state->acceptor.get_executor(), accept_pause);
              co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            continue;
          }
          boost::system::error_code peer_ec;
          const auto peer = socket.remote_endpoint(peer_ec);
          auto slot = std::make_shared<session_slot>();
          slot->executor = socket.get_executor();
          slot->peer = peer.address();
          // A peer already gone has no address to count, and nothing to serve.
          const auto registered =
              draining_.load() || peer_ec ? std::nullopt : register_session(slot);
          if (!registered) {
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
          }
          const std::uint64_t id = *registered;
          session_args args{*this, settings_, *routes_, metrics_, *slot, state->spec};
          auto ex = socket.get_executor();
          asio::co_spawn(ex, run_session(std::move(socket), args),
                         [this, id](std::exception_ptr e) {
                           if (e) {
                             try {
                               std::rethrow_exception(e);
                             } catch (const std::exception& err) {
                               spdlog::error("session ended by exception: {}", err.what());
                             } catch (...) {
                               // Escaping here would end the I/O thread, and the daemon.
                               spdlog::error("session ended by an unknown exception");
                             }
                           }
                           unregister_session(id);
                         });
        }
      },
      asio::detached);
}

std::optional<std::uint64_t> server::register_session(std::shared_ptr<session_slot> slot) {
  std::lock_guard lock(mutex_);
  // Both caps are checked and the session counted under one lock: listeners accepting on
  // several threads cannot overshoot them together.
  if (sessions_.size() >= settings_.max_connections) {
    refused_->max_connections.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  // Counted only under a cap: without one, the map would cost every connection a lookup.
  if (const std::size_t cap = settings_.max_connections_per_address; cap > 0) {
    std::size_t& from_peer = per_address_[slot->peer];
    if (from_peer >= cap) {
      refused_->per_address.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    ++from_peer;
  }
  auto id = next_id_++;
  sessions_.emplace(id, std::move(slot));
  return id;
}

void server::unregister_session(std::uint64_t id) {
  std::function<void()> done;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = sessions_.find(id); it != sessions_.end()) {
      if (const auto peer = per_address_.find(it->second->peer);
          peer != per_address_.end() && --peer->second == 0)
        per_address_.erase(peer);
      sessions_.erase(it);
    }
    if (draining_.load() && sessions_.empty() && on_drained_) {
      done = std::exchange(on_drained_, {});
      // Under the lock, as the timer was armed: a timer is not safe for concurrent calls.
      if (grace_timer_) grace_timer_->cancel();
    }
  }
  if (done) done();
}

std::size_t server::active_sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

namespace {
void post_close(const std::shared_ptr<server::session_slot>& slot) {
  // The close runs on the session's strand, where close_now is set and cleared.
  asio::post(slot->executor, [slot] {
    if (slot->close_now) slot->close_now();
  });
}
}  // namespace

void server::shutdown(std::chrono::milliseconds grace, std::function<void()> done) {
  if (draining_.exchange(true)) return;
  for (auto& l : listeners_)
    asio::post(l->acceptor.get_executor(), [l] {
      boost::system::error_code ignored;
      l->acceptor.close(ignored);
    });
  std::vector<std::shared_ptr<session_slot>> idle;
  bool empty = false;
  {
    std::lock_guard lock(mutex_);
    on_drained_ = std::move(done);
    for (auto& [id, slot] : sessions_)
      if (slot->idle.load()) idle.push_back(slot);
    empty = sessions_.empty();
    // Armed before any close is posted, under the lock unregister_session() cancels it with:
    // the last session may end on another thread as soon as its close is posted.
    if (!empty) {
      grace_timer_ = std::make_shared<asio::steady_timer>(ioc_, grace);
      grace_timer_->async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        std::vector<std::shared_ptr<session_slot>> left;
        {
          std::lock_guard held(mutex_);
          for (auto& [id, slot] : sessions_) left.push_back(slot);
        }
        if (!left.empty())
          spdlog::warn("shutdown grace elapsed: closing {} connection(s) still busy", left.size());
        for (auto& s : left) post_close(s);
      });
    }
  }
  for (auto& s : idle) post_close(s);
  if (empty) {
    std::function<void()> cb;
    {
      std::lock_guard lock(mutex_);
      cb = std::exchange(on_drained_, {});
    }
    if (cb) cb();
  }
}

}  // namespace pagohub::http
