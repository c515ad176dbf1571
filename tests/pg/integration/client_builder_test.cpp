// The memory of endpoints that could not be made into a client (the delivery service's and the
// on-demand lookups'): no database needed. A CA file made with the openssl command, broken and
// repaired.
#include <pagohub/integration/client_builder.hpp>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace {

using namespace pagohub;
using namespace pagohub::integration;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class client_builder_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("client-builder-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    const std::string script = "cd " + dir_.string() +
                               " && openssl req -x509 -newkey ec -pkeyopt "
                               "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out "
                               "good.pem -days 2 -subj /CN=test-ca 2>/dev/null";
    ASSERT_EQ(std::system(script.c_str()), 0);
    write("garbage\n");
    settings_.id = "bo";
    settings_.base_url = "https://127.0.0.1:9/bo";
    settings_.ca_file = (dir_ / "ca.pem").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Written aside and renamed, as a configuration tool would.
  void write(const std::string& text) {
    {
      std::ofstream out(dir_ / "ca.new");
      out << text;
    }
    std::filesystem::rename(dir_ / "ca.new", dir_ / "ca.pem");
  }
  void repair() {
    std::ifstream in(dir_ / "good.pem");
    write(std::string(std::istreambuf_iterator<char>(in), {}));
  }

  boost::asio::io_context ioc_;
  std::filesystem::path dir_;
  config::integration settings_;
  const std::chrono::system_clock::time_point wall_{std::chrono::seconds(1'700'000'000)};
  const client_builder::wording words{"delivery", "still delivering at",
                                      "its messages wait until it can"};
};

TEST_F(client_builder_test, a_failure_is_tried_again_after_a_change_only) {
  client_builder b(5min, words);
  const auto t0 = steady::now();
  EXPECT_EQ(b.build(ioc_.get_executor(), settings_, std::nullopt, wall_, t0), nullptr);
  const auto* f = b.find("bo");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->error.find("cannot load CA file"), std::string::npos) << f->error;
  EXPECT_EQ(f->since, wall_);
  EXPECT_EQ(f->tried, t0);

  // Nothing changed: not tried again before the period.
  EXPECT_EQ(b.build(ioc_.get_executor(), settings_, std::nullopt, wall_ + 1s, t0 + 1s), nullptr);
  EXPECT_EQ(b.find("bo")->tried, t0);
  // The period passed: tried again, still failing since the first time.
  EXPECT_EQ(b.build(ioc_.get_executor(), settings_, std::nullopt, wall_ + 5min, t0 + 5min),
            nullptr);
  EXPECT_EQ(b.find("bo")->tried, t0 + 5min);
  EXPECT_EQ(b.find("bo")->since, wall_);

  // Other settings: tried at once, a failure of their own.
  auto moved = settings_;
  moved.base_url = "https://127.0.0.1:9/bo-v2";
  EXPECT_EQ(b.build(ioc_.get_executor(), moved, "https://127.0.0.1:9/bo", wall_ + 6min, t0 + 6min),
            nullptr);
  EXPECT_EQ(b.find("bo")->tried, t0 + 6min);
  EXPECT_EQ(b.find("bo")->since, wall_ + 6min);

  // The file changed, still garbage: tried at once.
  write("other garbage\n");
  EXPECT_EQ(b.build(ioc_.get_executor(), moved, std::nullopt, wall_ + 7min, t0 + 7min), nullptr);
  EXPECT_EQ(b.find("bo")->tried, t0 + 7min);
  EXPECT_EQ(b.find("bo")->since, wall_ + 6min);

  // Repaired: a client, and the failure forgotten.
  repair();
  EXPECT_NE(b.build(ioc_.get_executor(), moved, std::nullopt, wall_ + 8min, t0 + 8min), nullptr);
  EXPECT_EQ(b.find("bo"), nullptr);
}

TEST_F(client_builder_test, failures_of_integrations_no_longer_failing_are_forgotten) {
  client_builder b(5min, words);
  const auto t0 = steady::now();
  auto other = settings_;
  other.id = "other";
  EXPECT_EQ(b.build(ioc_.get_executor(), settings_, std::nullopt, wall_, t0), nullptr);
  EXPECT_EQ(b.build(ioc_.get_executor(), other, std::nullopt, wall_, t0), nullptr);
  EXPECT_EQ(b.failures().size(), 2u);
  b.keep_only({"other"});
  EXPECT_EQ(b.find("bo"), nullptr);
  EXPECT_NE(b.find("other"), nullptr);
  b.forget("other");
  EXPECT_TRUE(b.failures().empty());
  // Forgotten, a failure is tried again at once.
  EXPECT_EQ(b.build(ioc_.get_executor(), other, std::nullopt, wall_, t0 + 1s), nullptr);
  EXPECT_EQ(b.find("other")->tried, t0 + 1s);
}

TEST(files_stamp, changes_with_the_file) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("files-stamp-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  config::integration i;
  i.ca_file = (dir / "ca.pem").string();
  const auto missing = files_stamp(i);
  EXPECT_NE(missing.find("error"), std::string::npos) << missing;
  std::ofstream(dir / "ca.pem") << "one";
  const auto one = files_stamp(i);
  EXPECT_NE(one, missing);
  EXPECT_EQ(files_stamp(i), one);
  std::filesystem::permissions(dir / "ca.pem", std::filesystem::perms::owner_read);
  EXPECT_NE(files_stamp(i), one);
  std::filesystem::remove_all(dir);
}

}  // namespace
