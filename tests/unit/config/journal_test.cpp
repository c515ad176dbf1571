// [journal] and [journal.payload_policy] (docs/config-reference.md).
#include "config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

class journal_config : public config_dir {};

TEST_F(journal_config, defaults_apply_without_the_section) {
  const auto cfg = load_text(doc{}.text());
  const auto& j = cfg.daemon.journal;
  EXPECT_TRUE(j.enabled_interfaccia);
  EXPECT_EQ(j.queue_capacity, 10000U);
  EXPECT_EQ(j.flush_interval, std::chrono::milliseconds(200));
  EXPECT_EQ(j.retention_months, 120);
  EXPECT_EQ(j.payload_retention_months, 13);
  EXPECT_EQ(j.months_ahead, 3);
  EXPECT_EQ(j.policy_for("rest"), payload_policy::on_error);
  EXPECT_EQ(j.policy_for("soap_pa"), payload_policy::always);
  EXPECT_EQ(j.policy_for("import"), payload_policy::never);
  EXPECT_FALSE(j.personal_data_fields.empty());
}

TEST_F(journal_config, every_key_is_read) {
  doc d;
  d.tail =
      "[journal]\nenabled_interfaccia = false\nqueue_capacity = 500\nqueue_max_bytes = 2097152\n"
      "flush_interval_ms = 50\nbatch_size = 100\nretention_months = 24\n"
      "payload_retention_months = 6\nmonths_ahead = 2\npayload_max_bytes = 4096\n"
      "seal_interval_s = 10\npersonal_data_fields = [\"fullName\", \"codice_fiscale\"]\n"
      "[journal.payload_policy]\nrest = \"always\"\ndefault = \"never\"\n";
  const auto j = load_text(d.text()).daemon.journal;
  EXPECT_FALSE(j.enabled_interfaccia);
  EXPECT_EQ(j.queue_capacity, 500U);
  EXPECT_EQ(j.queue_max_bytes, 2097152U);
  EXPECT_EQ(j.flush_interval, std::chrono::milliseconds(50));
  EXPECT_EQ(j.batch_size, 100U);
  EXPECT_EQ(j.retention_months, 24);
  EXPECT_EQ(j.payload_retention_months, 6);
  EXPECT_EQ(j.months_ahead, 2);
  EXPECT_EQ(j.payload_max_bytes, 4096U);
  EXPECT_EQ(j.seal_interval, std::chrono::seconds(10));
  EXPECT_EQ(j.personal_data_fields, (std::vector<std::string>{"fullName", "codice_fiscale"}));
  EXPECT_EQ(j.policy_for("rest"), payload_policy::always);
  EXPECT_EQ(j.policy_for("soap_pa"), payload_policy::always) << "unlisted kinds keep defaults";
  EXPECT_EQ(j.policy_for("nonsense"), payload_policy::never) << "the default key";
}

TEST_F(journal_config, bad_values_name_their_key) {
  const auto fails = [this](const std::string& tail, const std::string& key) {
    expect_refused(tail, key);
  };
  fails("[journal]\nretention_months = 0\n", "journal.retention_months");
  fails("[journal]\nretention_months = 6\npayload_retention_months = 7\n",
        "journal.payload_retention_months");
  fails("[journal]\nretention_months = 6\n", "journal.retention_months");  // default 13 > 6
  fails("[journal]\nflush_interval_ms = \"fast\"\n", "journal.flush_interval_ms");
  fails("[journal]\ncolour = 1\n", "journal.colour");
  fails("[journal.payload_policy]\nrest = \"sometimes\"\n", "journal.payload_policy.rest");
  fails("[journal.payload_policy]\nsoap = \"always\"\n", "journal.payload_policy.soap");
  fails("[journal]\npersonal_data_fields = [\"a b\"]\n", "journal.personal_data_fields[0]");
}

}  // namespace
}  // namespace pagohub::config::testing
