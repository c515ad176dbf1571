#include "file_drop.hpp"

#include <pagohub/journal/canonical.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

namespace pagohub::integration::detail {

namespace {

core::result<void> sys_fail(const std::string& what) {
  return core::fail(core::errc::unavailable, what + ": " + std::strerror(errno));
}

// Closes the descriptor on every path.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string file_name_for(std::string_view kind, std::string_view key) {
  std::string name;
  name.reserve(kind.size() + key.size() + 16);
  bool replaced = false;
  const auto put = [&](std::string_view s) {
    for (char c : s) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
      name += ok ? c : '_';
      replaced = replaced || !ok;
    }
  };
  put(kind);
  name += '_';
  put(key);
  // Replacing is not one-to-one ("a/b" and "a_b"; an old-model key holds the PSP's CCP, any
  // text): the key's digest then tells such names apart, or one message's file would overwrite
  // another's before the back-office reads it. '~' is never kept, so only these names have it.
  if (replaced) name += "~" + journal::to_hex(journal::sha256(key)).substr(0, 16);
  name += ".json";
  // Never a hidden name (the temporary files are): keys cannot start with '.', kinds do not.
  if (name.front() == '.') name.front() = '_';
  return name;
}

core::result<void> write_file_atomically(const std::string& directory, std::string_view entity_fc,
                                         const std::string& name, std::string_view content) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(directory) / std::string(entity_fc);
  std::error_code ec;
  // The levels about to be made (the entity's directory, the first time it gets a file).
  std::vector<fs::path> missing;
  for (fs::path p = dir; !p.empty() && p != p.parent_path() && !fs::exists(p, ec);
       p = p.parent_path())
    missing.push_back(p);
  fs::create_directories(dir, ec);
  if (ec)
    return core::fail(core::errc::unavailable,
                      "cannot create " + dir.string() + ": " + ec.message());
  // A new directory is durable only once its parent is synced: otherwise a crash could take
  // the entity's directory, and the file renamed into it below, while the outbox says
  // DELIVERED. Deepest first, so that each parent is synced after its new entry exists.
  for (const auto& p : missing) {
    const fs::path parent = p.parent_path();
    fd_guard d{::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0 || ::fsync(d.fd) != 0) return sys_fail("cannot fsync " + parent.string());
  }

  thread_local std::mt19937_64 rng{std::random_device{}()};
  const fs::path tmp = dir / ("." + name + ".tmp-" + std::to_string(rng()));
  const fs::path final_path = dir / name;
  {
    fd_guard f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)};
    if (f.fd < 0) return sys_fail("cannot create " + tmp.string());
    std::size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        auto r = sys_fail("cannot write " + tmp.string());
        ::unlink(tmp.c_str());
        return r;
      }
      done += static_cast<std::size_t>(n);
    }
    // The data reaches the disk before the name does: a crash never leaves a short file under
    // the final name.
    if (::fsync(f.fd) != 0) {
      auto r = sys_fail("cannot fsync " + tmp.string());
      ::unlink(tmp.c_str());
      return r;
    }
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    auto r = sys_fail("cannot rename to " + final_path.string());
    ::unlink(tmp.c_str());
    return r;
  }
  // And the rename itself is durable once the directory is synced.
  fd_guard d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0 || ::fsync(d.fd) != 0) return sys_fail("cannot fsync " + dir.string());
  return {};
}

}  // namespace pagohub::integration::detail
