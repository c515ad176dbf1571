#pragma once
// The daemon with a back-office on https: fake-bo with a certificate of a throwaway CA
// (throwaway_ca.hpp), which an integration trusts through ca_file; the CA file broken from the
// start when the test says so, and breakable and repairable while the daemon runs.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fake_bo.hpp"
#include "pap_fixture.hpp"
#include "throwaway_ca.hpp"

namespace pagohub::test {

class tls_bo_e2e : public pap_e2e {
 protected:
  void SetUp() override {
    if (!test_support::pg_available()) GTEST_SKIP() << test_support::pg_unavailable_reason();
    ASSERT_TRUE(ca_.make("tls-bo"));
    if (broken_at_start()) {
      ca_.break_ca();
    } else {
      ca_.repair_ca();
    }
    fake_bo::settings s = bo_settings();
    s.cert_file = ca_.server_cert();
    s.key_file = ca_.server_key();
    bo_ = std::make_unique<fake_bo::server>(s);
    bo_->start();
    pap_e2e::SetUp();
  }
  void TearDown() override {
    pap_e2e::TearDown();
    bo_.reset();
  }

  /// True: the daemon starts with the CA file broken.
  virtual bool broken_at_start() const { return false; }
  /// fake-bo's settings but its certificate; the CA's directory exists when this is called.
  virtual fake_bo::settings bo_settings() { return {}; }

  std::string bo_url(const std::string& prefix) const {
    return "https://127.0.0.1:" + std::to_string(bo_->port()) + prefix;
  }

  /// How many times the daemon's log says `text`.
  std::size_t times_logged(const std::string& text) const {
    const auto log = daemon_->log();
    std::size_t n = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }

  throwaway_ca ca_;
  std::unique_ptr<fake_bo::server> bo_;
};

}  // namespace pagohub::test
