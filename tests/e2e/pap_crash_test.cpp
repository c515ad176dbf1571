// Crash test (label faults): receipts flow in while pagohubd is killed with SIGKILL, then it is
// restarted. Every receipt that was answered OK must be in the database exactly once, and the
// Nodo's re-deliveries of the others must be accepted (ARCHITECTURE §5: an OK only after the
// commit; DIGEST §1.3: idempotent on the receipt id).
#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include "pap_fixture.hpp"

namespace pagohub::test {
namespace {

class pap_crash : public pap_e2e {};

TEST_F(pap_crash, acknowledged_receipts_survive_sigkill_and_redeliveries_are_accepted) {
  constexpr int notices = 240;
  constexpr int senders = 4;
  std::vector<std::string> numbers;
  std::vector<nodo_sim::receipt_spec> receipts;
  for (int i = 0; i < notices; ++i) {
    numbers.push_back(make_position(1000 + i));
    nodo_sim::payment_info info;
    info.iuv = numbers.back().substr(1);
    info.amount = 1000 + i;
    info.transfers.push_back({1, 1000 + i, pap_entity});
    receipts.push_back(nodo_sim::receipt_for(id_, numbers.back(), info));
  }

  std::mutex mutex;
  std::set<std::string> acknowledged;  // receipt ids answered OK
  std::set<std::string> failed;        // sent, but no OK came back
  std::atomic<int> next{0};
  std::atomic<int> sent{0};
  const std::string first_url = url();
  auto sender = [&] {
    nodo_sim::connection c(first_url, std::chrono::seconds(5));
    for (int i = next++; i < notices; i = next++) {
      const auto& r = receipts[static_cast<std::size_t>(i)];
      bool ok = false;
      try {
        ok = c.post(nodo_sim::current_model_path, nodo_sim::send_rt_xml(id_, r)).outcome == "OK";
      } catch (const std::exception&) {
        ok = false;
      }
      ++sent;
      std::lock_guard lock(mutex);
      (ok ? acknowledged : failed).insert(r.receipt_id);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < senders; ++i) threads.emplace_back(sender);
  // Kill mid-stream: once a good part has been sent, while the senders are busy.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sent.load() < notices / 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  daemon_->signal(SIGKILL);
  for (auto& t : threads) t.join();
  daemon_->wait_exit(std::chrono::seconds(10));

  ASSERT_GT(acknowledged.size(), 0u);
  ASSERT_GT(failed.size(), 0u) << "the kill came too late to interrupt anything";
  daemon_.reset();
  start_daemon(extra_toml());

  // Every acknowledged receipt is there exactly once, applied.
  for (const auto& id : acknowledged) {
    EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE receipt_id = '" + id + "' AND applied"), 1)
        << id;
  }
  // The Nodo re-delivers what it got no OK for (and, being careful, some it did): all OK.
  int redelivered = 0;
  for (const auto& r : receipts) {
    const bool unanswered = failed.contains(r.receipt_id);
    if (!unanswered && (redelivered++ % 10) != 0) continue;
    const auto a = link_->post(nodo_sim::current_model_path, nodo_sim::send_rt_xml(id_, r));
    EXPECT_EQ(a.outcome, "OK") << a.body;
  }
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), notices);
  EXPECT_EQ(count("SELECT count(DISTINCT receipt_id) FROM receipts"), notices);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID'"), notices);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE anomaly IS NOT NULL"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), notices);
}

}  // namespace
}  // namespace pagohub::test
