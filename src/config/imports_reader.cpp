// [imports]: docs/config-reference.md, docs/imports.md.
#include <pagohub/config/imports_settings.hpp>

#include <filesystem>

#include "readers.hpp"

namespace pagohub::config::detail {

void read_imports(const table_reader& root, imports_settings& out) {
  const toml::table* t = root.table("imports");
  if (t == nullptr) return;
  const table_reader r(*t, "imports", root.file(),
                       {"max_upload_bytes", "spool_dir", "workers", "upload_connections",
                        "poll_interval_ms", "max_attempts", "max_queued_per_application"});
  out.max_upload_bytes =
      static_cast<std::size_t>(r.integer("max_upload_bytes", 1024, std::int64_t{64} << 30)
                                   .value_or(static_cast<std::int64_t>(out.max_upload_bytes)));
  if (auto dir = r.path("spool_dir")) {
    std::error_code ec;
    if (!std::filesystem::is_directory(*dir, ec)) {
      r.fail("spool_dir", "directory " + dir->string() + " does not exist");
    }
    out.spool_dir = dir->string();
  }
  out.workers = static_cast<int>(r.integer("workers", 1, 64).value_or(out.workers));
  out.upload_connections =
      static_cast<int>(r.integer("upload_connections", 1, 16).value_or(out.upload_connections));
  out.poll_interval = std::chrono::milliseconds{
      r.integer("poll_interval_ms", 100, 3'600'000).value_or(out.poll_interval.count())};
  out.max_attempts = static_cast<int>(r.integer("max_attempts", 1, 100).value_or(out.max_attempts));
  out.max_queued_per_application = static_cast<int>(
      r.integer("max_queued_per_application", 1, 10'000).value_or(out.max_queued_per_application));
}

}  // namespace pagohub::config::detail
