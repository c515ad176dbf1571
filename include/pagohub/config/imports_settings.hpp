#pragma once
// The [imports] section: bulk imports of debt positions (docs/config-reference.md,
// docs/imports.md).
#include <chrono>
#include <cstddef>
#include <string>

namespace pagohub::config {

struct imports_settings {
  /// The largest file POST .../imports accepts (413 beyond). The upload is spooled to disk as
  /// it arrives and stored in the database in pieces, never held in memory whole.
  std::size_t max_upload_bytes = std::size_t{512} << 20;
  /// Where uploads are written while they arrive; empty = the system's temporary directory.
  std::string spool_dir{};
  /// Imports this daemon processes at once (each uses four database connections of its own).
  int workers = 1;
  /// Database connections of this daemon's own that store uploads (POST .../imports): a large
  /// file takes seconds to store, and on the shared pool a few at once would hold the
  /// connections the back-office API and the jobs need. Further uploads wait for one of these.
  int upload_connections = 2;
  /// How often idle import workers look for imports queued by another daemon or left
  /// unfinished.
  std::chrono::milliseconds poll_interval{5000};
  /// Processing attempts after which an import that keeps failing is given up.
  int max_attempts = 3;
  /// Imports of one application queued or being processed at once; a further upload is
  /// refused (429) until one ends. Each holds its whole file in the database.
  int max_queued_per_application = 20;
};

}  // namespace pagohub::config
