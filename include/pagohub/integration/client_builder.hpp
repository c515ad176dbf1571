#pragma once
// The back-office clients of push integrations, and the endpoints that could not be made into
// one. A client reads the integration's TLS files (CA bundle, client certificate and key) when it
// is built; after a change of the settings, or at start-up, one of them may be unreadable or
// invalid. Its users (the delivery service, polling every half second; the on-demand lookups, at
// every lookup) would build again, and log again, at every turn without a memory of the failure.
// docs/integration.md, "When an endpoint cannot be used".
#include <pagohub/config/integration.hpp>
#include <pagohub/integration/bo_client.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace pagohub::integration {

/// The state on disk of the files `i`'s client reads when it is built: for each, its device,
/// inode, size, modification and change times, or why it cannot be looked at. A file rewritten,
/// replaced or given other permissions gets another stamp.
std::string files_stamp(const config::integration& i);

/// Builds the clients of one user's integrations and remembers the endpoints that failed, so
/// that a failure is tried again (and logged) only when something changed. Not thread-safe: its
/// user calls it under a lock of its own.
class client_builder {
 public:
  /// An endpoint that could not be made into a client.
  struct failure {
    config::integration settings;                 ///< the settings whose endpoint failed
    std::string files;                            ///< files_stamp() at the last try
    std::string error;                            ///< why, as the client said
    std::chrono::system_clock::time_point since;  ///< the first failure of these settings
    std::chrono::steady_clock::time_point tried;  ///< the last try
  };

  /// How the log lines name the user of the clients and what it does meanwhile:
  /// "<user>: integration <id>: its endpoint <url> cannot be used: <why>; <kept_at> <previous>
  /// with its previous settings until it can" (or "; <none>" without a previous endpoint), and
  /// "<user>: integration <id>: its endpoint <url> is in use now".
  struct wording {
    std::string user;     ///< "delivery"
    std::string kept_at;  ///< "still delivering at"
    std::string none;     ///< "its messages wait until it can"
  };

  /// `retry_every`: how often a failed endpoint is tried again while neither its settings nor
  /// its files change.
  client_builder(std::chrono::steady_clock::duration retry_every, wording words)
      : retry_every_(retry_every), words_(std::move(words)) {}

  /// The client of `i`'s endpoint, or null: when it cannot be built, and without trying when it
  /// failed before and nothing changed since (its settings, its files, or retry_every passed).
  /// A failure is logged at each try; `previous` says where the integration's requests go
  /// meanwhile (its previous base URL or directory), nullopt when nowhere.
  std::shared_ptr<bo_client> build(const boost::asio::any_io_executor& ex,
                                   const config::integration& i,
                                   const std::optional<std::string>& previous,
                                   std::chrono::system_clock::time_point wall_now,
                                   std::chrono::steady_clock::time_point now);

  /// Forgets the failures of the integrations not in `failing` (their endpoint is in use now, or
  /// they no longer push).
  void keep_only(const std::set<std::string, std::less<>>& failing);
  /// Forgets the failure of one integration (its settings went back to the endpoint in use, or
  /// it is gone).
  void forget(std::string_view id);

  /// The failure of an integration's endpoint, null when there is none.
  const failure* find(std::string_view id) const;
  /// Every failure, by integration id.
  const std::map<std::string, failure, std::less<>>& failures() const noexcept { return failures_; }

 private:
  std::chrono::steady_clock::duration retry_every_;
  wording words_;
  std::map<std::string, failure, std::less<>> failures_;
};

}  // namespace pagohub::integration
