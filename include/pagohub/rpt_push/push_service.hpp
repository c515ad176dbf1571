#pragma once
// The old-model RPT push (DIGEST §2.1, SANP2 §8.2.3.2): after paaAttivaRPT the station generates
// the RPT for (IUV, CCP) and sends it to the Nodo with nodoInviaRPT, with the PSP, its broker and
// channel given in the activation. A loop on the io_context claims due activations one at a
// time (rpt_activations, push_state PENDING, FOR UPDATE SKIP LOCKED, so several daemons share
// the work), builds, validates and stores the RPT once before it first leaves, sends it and
// records the outcome with its journal events in one transaction, provided the claim is still
// this daemon's: SENT on esito OK or PPT_RPT_DUPLICATA, otherwise a retry with exponential
// backoff, FAILED after the last attempt (docs/pagopa.md).
#include <pagohub/config/entity.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/journal/record.hpp>
#include <pagohub/nodo_client/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace pagohub::rpt_push {

struct push_settings {
  std::string station_id;  ///< identificativoStazioneRichiedente of the RPTs
  std::chrono::milliseconds poll_interval{1'000};
  int batch_size = 16;  ///< activations per pass, claimed and sent one after another
  int max_attempts = 10;
  std::chrono::milliseconds retry_base{5'000};
  std::chrono::milliseconds retry_max{600'000};
  /// How long a claimed activation stays away from other daemons while its one nodoInviaRPT
  /// runs: more than the client's request timeout (each activation is claimed just before
  /// its call, not for the whole pass).
  std::chrono::milliseconds claim_ttl{120'000};
  /// Journal payload rules; null = the defaults.
  const journal::payload_rules* rules = nullptr;
};

/// What one pass did.
struct pass_result {
  int claimed = 0;
  int sent = 0;     ///< esito OK or PPT_RPT_DUPLICATA
  int retried = 0;  ///< to be tried again later
  int failed = 0;   ///< given up
  /// Claimed but left to another holder: the claim ran out before the RPT left, or passed to
  /// another daemon before the outcome could be recorded.
  int lost = 0;
};

/// The delay before attempt `attempt + 1` after `attempt` failed ones (1-based):
/// base * 2^(attempt-1), at most `max`.
std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds base,
                                  std::chrono::milliseconds max) noexcept;

class push_service {
 public:
  /// Everything referenced must outlive the service.
  push_service(boost::asio::io_context& ioc, db::executor& db, nodo_client::client& nodo,
               config::registry_holder& registry, const core::clock& clock, push_settings settings);
  ~push_service();
  push_service(const push_service&) = delete;
  push_service& operator=(const push_service&) = delete;

  /// Starts the loop on the io_context (returns at once).
  void start();
  /// No new pass starts; a pass in flight finishes. Thread-safe, idempotent.
  void stop();

  /// One pass: claims up to batch_size due activations, one at a time, pushes each and
  /// records its outcome.
  boost::asio::awaitable<pass_result> run_once();

  /// Prometheus lines: pagohub_rpt_push_total{outcome}.
  void append_metrics(std::string& out) const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace pagohub::rpt_push
