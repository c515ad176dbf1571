#pragma once
// The real pagohubd binary as a child process, configured by the test, on a loopback port it
// chooses itself (port 0) and reports in its log.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace pagohub::test {

struct daemon_options {
  std::string conninfo;                      ///< the database the daemon uses
  std::size_t max_body_bytes = 1 << 20;      ///< [limits] max_body_bytes
  std::string extra_toml{};                  ///< appended to the generated configuration
  std::filesystem::path sql_dir{};           ///< default: the source tree's sql/
  std::filesystem::path applications_dir{};  ///< [paths] applications_dir; empty = not set
  std::string listener_toml{};      ///< extra keys of the test listener (TLS files, subjects)
  bool migrate_on_start = true;     ///< [db] migrate_on_start
  std::string limits_toml{};        ///< extra keys of [limits]
  int request_deadline_ms = 10000;  ///< [limits] request_deadline_ms
  int shutdown_grace_ms = 10000;    ///< [limits] shutdown_grace_ms
  int statement_timeout_ms = 5000;  ///< [db] statement_timeout_ms
};

class daemon_process {
 public:
  explicit daemon_process(daemon_options options);
  ~daemon_process();  // SIGKILL if still running, then reaps
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  /// Starts the daemon and waits (with a deadline) until it logs its listening port.
  /// Returns false, with the log in `log()`, when it exited or stayed silent instead.
  bool start(std::chrono::seconds deadline = std::chrono::seconds(60));
  unsigned short port() const noexcept { return port_; }
  void signal(int sig) const;
  /// Waits for the process to exit; returns its exit code, or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout);
  bool running();
  std::string log() const;
  const std::filesystem::path& config_file() const noexcept { return config_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  daemon_options options_;
  std::filesystem::path dir_;
  std::filesystem::path config_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  unsigned short port_ = 0;
};

/// Runs `pagohubd <args>` to completion; returns (exit code, combined output).
std::pair<int, std::string> run_pagohubd(const std::string& args);

/// The absolute path of the source tree and of the built daemon (set by CMake).
std::filesystem::path source_dir();
std::filesystem::path daemon_binary();

}  // namespace pagohub::test
