#pragma once
// One push attempt of an outbox message: the PUT to the back-office (docs/api/bo-webhooks.yaml)
// and, when the journal records INTERFACCIA exchanges, its req and rsp events (docs/journal.md).
#include <pagohub/config/integration.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/integration/bo_client.hpp>
#include <pagohub/integration/outbox.hpp>
#include <pagohub/journal/record.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace pagohub::journal {
class writer;
}

namespace pagohub::integration::detail {

/// What an attempt needs besides the message: the clock its times are read from, the journal's
/// writer (null: exchanges not recorded) and the payload rules that decide which bodies it keeps.
struct push_context {
  const core::clock& clock;
  journal::writer* events;
  const journal::payload_rules& rules;
};

/// Sends `m` (with `receipt`, the receipt as the REST API shows it, for a receipt message)
/// over `client`; a connection not free by `send_by` means nothing was sent (`sent` false, no
/// attempt). The outcome follows the contract's status rules (retry_policy.hpp). The exchange is
/// queued to the journal before this returns; with the writer's queue full, it waits.
boost::asio::awaitable<attempt_result> push_attempt(bo_client& client,
                                                    const config::integration& cfg,
                                                    const claimed_message& m,
                                                    const std::optional<std::string>& receipt,
                                                    std::chrono::steady_clock::time_point send_by,
                                                    const push_context& ctx);

}  // namespace pagohub::integration::detail
