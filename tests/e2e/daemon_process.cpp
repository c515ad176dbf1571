#include "daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pagohub::test {

namespace fs = std::filesystem;

fs::path source_dir() {
  return PAGOHUB_SOURCE_DIR;
}
fs::path daemon_binary() {
  return PAGOHUB_DAEMON;
}

namespace {
fs::path make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "pagohub-e2e.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

daemon_process::daemon_process(daemon_options options) : options_(std::move(options)) {
  dir_ = make_temp_dir();
  config_ = dir_ / "pagohub.toml";
  log_ = dir_ / "pagohubd.log";
  if (options_.sql_dir.empty()) options_.sql_dir = source_dir() / "sql";
  std::ofstream f(config_);
  f << "[daemon]\nio_threads = 2\nbroker_id = \"15376371009\"\nstation_id = "
       "\"15376371009_01\"\n\n"
    << "[[listener]]\nname = \"test\"\naddress = \"127.0.0.1\"\nport = 0\n"
    << options_.listener_toml << "\n\n"
    << "[db]\nconninfo = " << toml_string(options_.conninfo)
    << "\npool_size = 4\nconnect_timeout_ms = 2000\nstatement_timeout_ms = "
    << options_.statement_timeout_ms << "\n"
    << "migrate_on_start = " << (options_.migrate_on_start ? "true" : "false") << "\n\n"
    << "[limits]\nmax_body_bytes = " << options_.max_body_bytes
    << "\nrequest_deadline_ms = " << options_.request_deadline_ms
    << "\nshutdown_grace_ms = " << options_.shutdown_grace_ms << "\n"
    << options_.limits_toml << "\n\n"
    << "[logging]\nlevel = \"info\"\nformat = \"text\"\n\n"
    << "[paths]\nsql_dir = " << toml_string(options_.sql_dir.string()) << "\n"
    << "entities_dir = " << toml_string((source_dir() / "config" / "entities").string()) << "\n"
    << (options_.applications_dir.empty()
            ? std::string()
            : "applications_dir = " + toml_string(options_.applications_dir.string()) + "\n")
    << "\n"
    << options_.extra_toml << "\n";
}

daemon_process::~daemon_process() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

bool daemon_process::start(std::chrono::seconds deadline) {
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // A test that crashes never reaches the destructor's kill: the daemon dies with it rather
    // than run on against a database the fixture drops.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) std::_Exit(127);
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::string bin = daemon_binary().string();
    std::string cfg = config_.string();
    ::execl(bin.c_str(), bin.c_str(), "--config", cfg.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  static const std::regex listening(R"(listening on https?://127\.0\.0\.1:(\d+))");
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    std::smatch m;
    std::string text = log();
    if (std::regex_search(text, m, listening)) {
      port_ = static_cast<unsigned short>(std::stoi(m[1]));
      return true;
    }
    if (!running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void daemon_process::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

bool daemon_process::running() {
  if (pid_ <= 0 || exited_) return false;
  pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) exited_ = true;
  return !exited_;
}

int daemon_process::wait_exit(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  return 128 + WTERMSIG(status_);
}

std::string daemon_process::log() const {
  std::ifstream f(log_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::pair<int, std::string> run_pagohubd(const std::string& args) {
  std::string cmd = daemon_binary().string() + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::string out;
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace pagohub::test
