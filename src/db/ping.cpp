// executor::ping: a readiness probe for the health endpoint. It races a one-statement
// transaction against a deadline, so a stuck pool or an unreachable server answers "unavailable"
// in bounded time instead of hanging the probe.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <pqxx/pqxx>

#include <functional>
#include <memory>
#include <optional>

#include "pagohub/db/errors.hpp"
#include "pagohub/db/executor.hpp"

namespace pagohub::db {
namespace {

// Shared by the deadline timer and the job. Both finish on one strand: the first to get there
// completes the handler, the other finds nothing left to do.
template <class Handler>
struct ping_race {
  ping_race(Handler h, boost::asio::strand<boost::asio::any_io_executor> s)
      : handler(std::move(h)), strand(std::move(s)), timer(strand) {}

  void finish(core::result<void> outcome) {
    if (!handler) return;
    timer.cancel();
    auto h = std::move(*handler);
    handler.reset();
    auto resume_on = boost::asio::get_associated_executor(h);
    boost::asio::post(resume_on, [h = std::move(h), outcome = std::move(outcome)]() mutable {
      std::move(h)(std::move(outcome));
    });
  }

  std::optional<Handler> handler;
  boost::asio::strand<boost::asio::any_io_executor> strand;
  boost::asio::steady_timer timer;
};

class ping_job final : public detail::job {
 public:
  ping_job(std::chrono::milliseconds deadline,
           std::move_only_function<void(std::exception_ptr) noexcept> done)
      // One retry: a connection that died while idle should be replaced, not reported.
      : job(isolation::read_committed, access::read_write, true, 1),
        sql_("SET LOCAL statement_timeout = " +
             std::to_string(std::max<std::int64_t>(deadline.count(), 1)) + "; SELECT 1"),
        done_(std::move(done)) {}

  void run(pqxx::dbtransaction& tx) override { tx.exec(sql_); }
  void complete(std::exception_ptr failure) noexcept override { done_(std::move(failure)); }

 private:
  std::string sql_;
  std::move_only_function<void(std::exception_ptr) noexcept> done_;
};

}  // namespace

boost::asio::awaitable<core::result<void>> executor::ping(std::chrono::milliseconds deadline) {
  auto initiation = [this, deadline](auto handler) {
    using race_type = ping_race<decltype(handler)>;
    auto strand = boost::asio::make_strand(boost::asio::get_associated_executor(handler));
    auto race = std::make_shared<race_type>(std::move(handler), std::move(strand));

    race->timer.expires_after(deadline);
    race->timer.async_wait([race, deadline](boost::system::error_code ec) {
      if (ec == boost::asio::error::operation_aborted) return;
      race->finish(
          core::fail(core::errc::unavailable,
                     "database did not answer within " + std::to_string(deadline.count()) + " ms"));
    });

    submit(std::make_unique<ping_job>(deadline, [race](std::exception_ptr failure) noexcept {
      core::result<void> outcome;
      if (failure) {
        outcome = core::fail(core::errc::unavailable, "database unreachable: " + describe(failure));
      }
      boost::asio::post(race->strand, [race, outcome = std::move(outcome)]() mutable {
        race->finish(std::move(outcome));
      });
    }));
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                     void(core::result<void>)>(std::move(initiation),
                                                               boost::asio::use_awaitable);
}

}  // namespace pagohub::db
