#pragma once
// Daemon settings read from the main configuration file (docs/config-reference.md).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pagohub/config/imports_settings.hpp"
#include "pagohub/config/journal_settings.hpp"
#include "pagohub/config/pap_settings.hpp"

namespace pagohub::config {

/// TLS for one listener. Paths are absolute (relative ones are resolved against the
/// configuration file's directory) and were readable when the configuration was loaded.
struct tls_settings {
  std::string cert_file{};       ///< PEM certificate chain
  std::string key_file{};        ///< PEM private key
  std::string client_ca_file{};  ///< PEM CA bundle for client certificates; empty = no mTLS
  /// Client certificate subjects allowed in (exact match); empty = any certificate the CA
  /// signed. Only with client_ca_file.
  std::vector<std::string> allowed_client_subjects{};
};

/// One listening socket ([[listener]]).
struct listener_settings {
  std::string name{};                 ///< unique among listeners
  std::string address = "127.0.0.1";  ///< IPv4 or IPv6 literal
  std::uint16_t port = 8080;          ///< 0 = any free port (tests)
  std::optional<tls_settings> tls{};  ///< absent = plain HTTP
};

/// PostgreSQL connection ([db]).
struct db_settings {
  /// libpq connection string: given whole (conninfo, conninfo_file, conninfo_env) or built
  /// from host/port/dbname/user/password. Holds the password: log it only through
  /// redact_conninfo().
  std::string conninfo{};
  int pool_size = 8;
  std::chrono::milliseconds statement_timeout{30000};  ///< 0 = no limit
  std::chrono::milliseconds connect_timeout{5000};
  bool migrate_on_start = true;
};

/// Request and connection limits ([limits]).
struct limits_settings {
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16384;
  std::chrono::milliseconds request_deadline{30000};
  std::chrono::milliseconds shutdown_grace{10000};
  std::size_t max_connections = 10000;
  /// Connections from one client address at once; 0 = no cap of its own.
  std::size_t max_connections_per_address = 0;
  /// How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60000};
};

/// Logging ([logging]).
struct logging_settings {
  std::string level = "info";   ///< trace, debug, info, warn, error, critical, off
  std::string format = "text";  ///< text or json
  bool access_log = true;
};

/// Directories ([paths]); absolute after loading.
struct paths_settings {
  std::string web_root = "web";
  std::string sql_dir = "sql";
  std::string entities_dir{};  ///< optional directory of *.toml entity files; empty = none
  /// Optional directory of *.toml application files; empty = none. May be missing (a warning):
  /// a fresh development checkout has not made its demo application yet.
  std::string applications_dir{};
};

/// The back-office REST API ([api]): defaults for the applications' rate limits.
struct api_settings {
  std::int64_t rate_per_second = 50;  ///< token bucket refill per API key, requests per second
  std::int64_t burst = 100;           ///< token bucket size: requests allowed at once
  /// Creates written in one transaction at most (PUT and POST /positions); 1 = one each.
  std::int64_t create_batch_size = 64;
  /// Create transactions running at once, each on a database connection.
  std::int64_t create_batches_in_flight = 2;
};

/// [outbox]: the messages for the back-offices once they are done with (docs/integration.md).
struct outbox_settings {
  /// Days a DELIVERED or DEAD message (and its attempts) is kept after it ended; 0 = for ever.
  /// The receipts, positions and journal are not touched.
  int retention_days = 0;
};

/// Everything in the main file except the entities.
struct daemon_settings {
  int io_threads = 0;  ///< 0 = std::thread::hardware_concurrency()
  std::vector<listener_settings> listeners{};
  db_settings db{};
  limits_settings limits{};
  logging_settings logging{};
  paths_settings paths{};
  api_settings api{};
  journal_settings journal{};  ///< [journal]
  imports_settings imports{};  ///< [imports]
  pap_settings pap{};          ///< [pap]
  outbox_settings outbox{};    ///< [outbox]
  std::string station_id{};    ///< default for entities; "<broker fiscal code>_NN"
  std::string broker_id{};     ///< default for entities; the intermediary's fiscal code
};

}  // namespace pagohub::config
