// [imports] (docs/config-reference.md).
#include "config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

class imports_config : public config_dir {};

TEST_F(imports_config, defaults_apply_without_the_section) {
  const auto i = load_text(doc{}.text()).daemon.imports;
  EXPECT_EQ(i.max_upload_bytes, std::size_t{512} << 20);
  EXPECT_TRUE(i.spool_dir.empty());
  EXPECT_EQ(i.workers, 1);
  EXPECT_EQ(i.upload_connections, 2);
  EXPECT_EQ(i.poll_interval, std::chrono::milliseconds(5000));
  EXPECT_EQ(i.max_attempts, 3);
}

TEST_F(imports_config, every_key_is_read) {
  doc d;
  d.tail =
      "[imports]\nmax_upload_bytes = 4096\nspool_dir = \"web\"\nworkers = 2\n"
      "upload_connections = 3\npoll_interval_ms = 250\nmax_attempts = 5\n";
  const auto i = load_text(d.text()).daemon.imports;
  EXPECT_EQ(i.max_upload_bytes, 4096U);
  EXPECT_EQ(std::filesystem::path(i.spool_dir).filename(), "web");
  EXPECT_TRUE(std::filesystem::path(i.spool_dir).is_absolute());
  EXPECT_EQ(i.workers, 2);
  EXPECT_EQ(i.upload_connections, 3);
  EXPECT_EQ(i.poll_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(i.max_attempts, 5);
}

TEST_F(imports_config, bad_values_name_their_key) {
  const auto fails = [this](const std::string& tail, const std::string& key) {
    expect_refused(tail, key);
  };
  fails("[imports]\nmax_upload_bytes = 10\n", "imports.max_upload_bytes");
  fails("[imports]\nspool_dir = \"missing\"\n", "imports.spool_dir");
  fails("[imports]\nworkers = 0\n", "imports.workers");
  fails("[imports]\nupload_connections = 17\n", "imports.upload_connections");
  fails("[imports]\ncolour = 1\n", "imports.colour");
}

}  // namespace
}  // namespace pagohub::config::testing
