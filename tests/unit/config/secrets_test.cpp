// Secrets from files and environment variables; a secret never shows in an error or summary.
#include <cstdlib>

#include "config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

constexpr const char* secret = "Zq8-very-secret-Kx3";

class secrets : public config_dir {
 protected:
  void TearDown() override {
    ::unsetenv("PAGOHUB_TEST_DB_PASSWORD");
    ::unsetenv("PAGOHUB_TEST_DB");
    config_dir::TearDown();
  }

  void expect_no_secret(const std::string& text) {
    const auto e = error_of(text);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(std::string(e->what()).find(secret), std::string::npos) << e->what();
  }
};

TEST_F(secrets, password_file_is_read_and_trimmed) {
  write("pw", std::string("\n ") + secret + " \n");
  const config cfg = load_text(doc{.db = "[db]\nhost = \"h\"\npassword_file = \"pw\"\n"}.text());
  EXPECT_EQ(cfg.daemon.db.conninfo, std::string("host=h password=") + secret);
  EXPECT_EQ(describe(cfg).find(secret), std::string::npos);
}

TEST_F(secrets, password_env) {
  ::setenv("PAGOHUB_TEST_DB_PASSWORD", "it's a \\ secret", 1);
  const config cfg = load_text(
      doc{.db = "[db]\nuser = \"u\"\npassword_env = \"PAGOHUB_TEST_DB_PASSWORD\"\n"}.text());
  // Quoted for libpq: quote and backslash escaped.
  EXPECT_EQ(cfg.daemon.db.conninfo, "user=u password='it\\'s a \\\\ secret'");
  EXPECT_EQ(describe(cfg).find("secret"), std::string::npos) << describe(cfg);
}

TEST_F(secrets, conninfo_env_and_file) {
  const std::string conninfo =
      std::string("host=/run/pg port=55432 dbname=pagohub user=postgres password=") + secret;
  ::setenv("PAGOHUB_TEST_DB", conninfo.c_str(), 1);
  config cfg = load_text(doc{.db = "[db]\nconninfo_env = \"PAGOHUB_TEST_DB\"\n"}.text());
  EXPECT_EQ(cfg.daemon.db.conninfo, conninfo);
  const std::string summary = describe(cfg);
  EXPECT_EQ(summary.find(secret), std::string::npos) << summary;
  EXPECT_NE(summary.find("host=/run/pg port=55432"), std::string::npos) << summary;

  write("conninfo", conninfo + "\n");
  cfg = load_text(doc{.db = "[db]\nconninfo_file = \"conninfo\"\npool_size = 2\n"}.text());
  EXPECT_EQ(cfg.daemon.db.conninfo, conninfo);
}

TEST_F(secrets, errors_never_contain_the_secret) {
  write("pw", secret);
  ::setenv("PAGOHUB_TEST_DB_PASSWORD", secret, 1);
  ::setenv("PAGOHUB_TEST_DB", (std::string("password=") + secret).c_str(), 1);
  // Two sources for one secret.
  expect_no_secret(doc{.db = std::string("[db]\nhost = \"h\"\npassword = \"") + secret +
                             "\"\npassword_file = \"pw\"\n"}
                       .text());
  expect_no_secret(doc{.db = std::string("[db]\nconninfo = \"password=") + secret +
                             "\"\nconninfo_env = \"PAGOHUB_TEST_DB\"\n"}
                       .text());
  // A whole conninfo plus a separate password.
  expect_no_secret(doc{.db = "[db]\nconninfo_env = \"PAGOHUB_TEST_DB\"\npassword_env = "
                             "\"PAGOHUB_TEST_DB_PASSWORD\"\n"}
                       .text());
  // A secret of the wrong type.
  expect_no_secret(
      doc{.db = "[db]\nhost = \"h\"\npassword = [\"" + std::string(secret) + "\"]\n"}.text());
  // A conninfo libpq cannot parse: its reason would quote the password.
  expect_no_secret(
      doc{.db = std::string("[db]\nconninfo = \"host=h password='") + secret + "\"\n"}.text());
  // An unrelated error after the secret was read.
  expect_no_secret(doc{.db = "[db]\nhost = \"h\"\npassword_file = \"pw\"\npool_size = 0\n"}.text());
  // An unknown key next to the secret.
  expect_no_secret(
      doc{.db = std::string("[db]\nhost = \"h\"\npassword = \"") + secret + "\"\npasword = 1\n"}
          .text());
}

TEST_F(secrets, source_problems) {
  write("empty", " \n");
  auto e = error_of(doc{.db = "[db]\nhost = \"h\"\npassword_file = \"empty\"\n"}.text());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->key, "db.password_file");
  EXPECT_NE(e->reason.find("is empty"), std::string::npos);

  ::setenv("PAGOHUB_TEST_DB", "", 1);
  e = error_of(doc{.db = "[db]\nconninfo_env = \"PAGOHUB_TEST_DB\"\n"}.text());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->key, "db.conninfo_env");
  EXPECT_NE(e->reason.find("PAGOHUB_TEST_DB is empty"), std::string::npos);

  e = error_of(doc{.db = "[db]\nhost = \"h\"\npassword = \"a\"\npassword_env = \"X\"\n"}.text());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->key, "db.password");
  EXPECT_NE(e->reason.find("only one of"), std::string::npos);

  e = error_of(doc{.db = "[db]\nhost = \"h\"\npassword_file = \".\"\n"}.text());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->key, "db.password_file");
}

TEST(redact_conninfo, keyword_form) {
  EXPECT_EQ(redact_conninfo("host=h password=abc user=u"), "host=h password=*** user=u");
  EXPECT_EQ(redact_conninfo("host = h  password = 'a b\\' c' dbname=x"),
            "host=h password=*** dbname=x");
  EXPECT_EQ(redact_conninfo("host=h sslpassword=kp sslkey=/k.pem"),
            "host=h sslpassword=*** sslkey=/k.pem");
  EXPECT_EQ(redact_conninfo("host=h"), "host=h");
  EXPECT_EQ(redact_conninfo(""), "");
  EXPECT_EQ(redact_conninfo("password='unterminated"), "***");
  EXPECT_EQ(redact_conninfo("garbage"), "***");
}

TEST(redact_conninfo, uri_form_masks_the_client_key_passphrase_too) {
  EXPECT_EQ(redact_conninfo("postgresql://h/db?sslpassword=kp&password=pw&sslmode=require"),
            "postgresql://h/db?sslpassword=***&password=***&sslmode=require");
}

TEST(redact_conninfo, uri_form) {
  EXPECT_EQ(redact_conninfo("postgresql://user:pw@host:5432/db"),
            "postgresql://user:***@host:5432/db");
  EXPECT_EQ(redact_conninfo("postgres://user@host/db?password=pw&sslmode=require"),
            "postgres://user@host/db?password=***&sslmode=require");
  EXPECT_EQ(redact_conninfo("postgresql://host/db"), "postgresql://host/db");
  EXPECT_EQ(redact_conninfo("postgresql:///db?host=/run/pg&password=x"),
            "postgresql:///db?host=/run/pg&password=***");
}

}  // namespace
}  // namespace pagohub::config::testing
