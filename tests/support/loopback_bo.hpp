#pragma once
// A back-office on loopback for the on-demand tests: GET /notices/{noticeNumber} answers what
// the test scripted for that notice (status, body, delay), every other request 404. It runs on
// its own thread with real HTTP/1.1 keep-alive (Beast), and counts the lookups per notice.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pagohub::test_support {

class loopback_bo {
 public:
  /// What one notice's lookup answers.
  struct script {
    unsigned status = 200;
    std::string body;
    std::chrono::milliseconds delay{0};
    std::string content_type = "application/json";
  };

  /// Listens on 127.0.0.1, port 0, at once.
  loopback_bo();
  ~loopback_bo();
  loopback_bo(const loopback_bo&) = delete;
  loopback_bo& operator=(const loopback_bo&) = delete;

  unsigned short port() const;
  /// "http://127.0.0.1:<port>".
  std::string base_url() const;

  /// Sets what GET /notices/`notice` answers; unscripted notices get 404.
  void set(const std::string& notice, script s);
  /// How many times GET /notices/`notice` was asked.
  int lookups(const std::string& notice) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pagohub::test_support
