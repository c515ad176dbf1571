// `make demo` (scripts/demo) against the real daemon: the script's REST calls, nodo-sim's
// payment and replay, the feed and the journal's timeline must all work as the script expects,
// or a new user's first look at pagohub fails.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "api_fixture.hpp"

namespace pagohub::test {
namespace {

class demo_script : public api_e2e {};

TEST_F(demo_script, tells_one_payment_from_start_to_finish) {
  const auto keyfile =
      std::filesystem::temp_directory_path() / ("pagohub-demo-key-" + std::to_string(::getpid()));
  std::ofstream(keyfile) << key("tributi") << "\n";
  const std::string cmd = "PAGOHUB_URL=http://127.0.0.1:" + std::to_string(daemon_->port()) +
                          " PAGOHUB_KEY_FILE=" + keyfile.string() +
                          " NODO_SIM=" PAGOHUB_NODO_SIM " " PAGOHUB_SOURCE_DIR "/scripts/demo 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  std::filesystem::remove(keyfile);

  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_NE(out.find("HTTP 201: status DRAFT"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP 200: status VALID"), std::string::npos) << out;
  EXPECT_NE(out.find("paSendRTV2: HTTP 200 OK"), std::string::npos) << out;
  EXPECT_NE(out.find("position PAID, option PAID by receipt"), std::string::npos) << out;
  EXPECT_NE(out.find("booked on chapter 3050 article 1"), std::string::npos) << out;
  EXPECT_NE(out.find("is in the feed"), std::string::npos) << out;
  EXPECT_NE(out.find("the position still has 1 receipt(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("positionStateChange   OPTION_PAID"), std::string::npos) << out;
  EXPECT_NE(out.find("Done. Position demo-"), std::string::npos) << out;
}

}  // namespace
}  // namespace pagohub::test
