// Admins' runtime overrides of integration settings against a real PostgreSQL: stored, merged
// with the configuration, removed; each change journaled in its own transaction with the old
// and new values; what the checks refuse, and what the table refuses, changes nothing.
#include <pagohub/integration/settings_store.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "fixture.hpp"

namespace {

using namespace pagohub;
using namespace pagohub::integration;
using namespace pagohub::integration::test;
using namespace std::chrono_literals;

config::integration push_integration(std::string id = "tributi-push",
                                     std::string entity = "01234567897") {
  config::integration i;
  i.id = std::move(id);
  i.entities = {std::move(entity)};
  i.application = "tributi";
  i.mode = config::integration_mode::push;
  i.base_url = "http://bo.example:8080/pagohub";
  i.auth = config::integration_auth::api_key;
  i.secret = "bo-secret";
  return i;
}

const journal::actor root{"admin", "root"};

class settings_pg : public integration_pg {
 protected:
  std::string scalar(const std::string& text) {
    pqxx::work w(*conn_);
    const auto r = w.exec(text);
    return r[0][0].is_null() ? "NULL" : r[0][0].c_str();
  }
  // lock + write in one transaction, as the PATCH route does.
  stored_override change(const config::integration_override& next, const std::string& reason) {
    return tx([&](pqxx::work& w) {
      const auto old = lock_override(w, "tributi-push");
      return write_override(w, old, next, root, reason, t0());
    });
  }
};

TEST_F(settings_pg, override_is_stored_merged_and_removed_with_journal_events) {
  EXPECT_EQ(tx([](pqxx::work& w) { return lock_override(w, "tributi-push"); }).version, 0);

  config::integration_override o;
  o.base_url = "https://bo.example:8080/pagohub/v2";
  o.timeout = 2500ms;
  o.max_attempts = 7;
  o.max_age = std::chrono::hours(48);
  ASSERT_TRUE(config::check_override(push_integration(), o, true).empty());
  const auto row = change(o, "the back-office now speaks TLS");
  EXPECT_EQ(row.version, 1);
  EXPECT_EQ(row.settings, o);
  EXPECT_EQ(row.changed_by, "admin:root");
  EXPECT_EQ(row.reason, "the back-office now speaks TLS");

  const auto map = tx([](pqxx::work& w) { return load_override_map(w); });
  ASSERT_EQ(map.size(), 1u);
  EXPECT_EQ(map.at("tributi-push"), o);

  // Merged by the holder: the effective integration carries the override, the configured one
  // and the secret are untouched.
  config::integration_holder holder(
      std::make_shared<const config::integration_registry>(std::vector<config::integration>{
          push_integration(), push_integration("other", "00000000000")}));
  holder.set_overrides(map);
  const auto* eff = holder.get()->find("tributi-push");
  ASSERT_NE(eff, nullptr);
  EXPECT_EQ(eff->base_url, "https://bo.example:8080/pagohub/v2");
  EXPECT_EQ(eff->timeout, 2500ms);
  EXPECT_EQ(eff->max_attempts, 7);
  EXPECT_EQ(eff->max_age, std::chrono::hours(48));
  EXPECT_EQ(eff->secret, "bo-secret");
  EXPECT_EQ(eff->max_concurrency, 4u);  // not overridden: the configuration's
  EXPECT_EQ(holder.configured()->find("tributi-push")->base_url, "http://bo.example:8080/pagohub");
  EXPECT_EQ(holder.get()->find("other")->base_url, "http://bo.example:8080/pagohub");
  // A reload keeps the overrides.
  holder.set(std::make_shared<const config::integration_registry>(
      std::vector<config::integration>{push_integration()}));
  EXPECT_EQ(holder.get()->find("tributi-push")->base_url, "https://bo.example:8080/pagohub/v2");

  // The journal event, with the actor and both sides.
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = "
                  "'integrationSettingsChanged' AND category = 'INTERNO' AND actor_kind = 'admin' "
                  "AND actor_id = 'root' AND provider_id = 'tributi-push'"),
            1);
  const auto params = scalar(
      "SELECT interface_params FROM journal_events WHERE event_type = "
      "'integrationSettingsChanged'");
  EXPECT_NE(params.find("changed=baseUrl,timeoutMs,maxAttempts,maxAge"), std::string::npos)
      << params;
  EXPECT_NE(params.find("reason=the back-office now speaks TLS"), std::string::npos);
  EXPECT_EQ(params.find("bo-secret"), std::string::npos);

  // A merge patch that drops one field keeps the others.
  auto next = o;
  next.timeout.reset();
  EXPECT_EQ(change(next, "default timeout again").version, 2);
  EXPECT_EQ(tx([](pqxx::work& w) { return load_override_map(w); }).at("tributi-push"), next);

  // Reset: the row stays empty with a higher version (an old ETag never matches again).
  const auto reset = change({}, "back to the configuration");
  EXPECT_EQ(reset.version, 3);
  EXPECT_TRUE(reset.settings.empty());
  EXPECT_TRUE(tx([](pqxx::work& w) { return load_override_map(w); }).empty());
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = "
                  "'integrationSettingsReset' AND actor_id = 'root'"),
            1);
  holder.set_overrides({});
  EXPECT_EQ(holder.get()->find("tributi-push")->base_url, "http://bo.example:8080/pagohub");
}

TEST_F(settings_pg, change_and_journal_event_commit_or_roll_back_together) {
  config::integration_override o;
  o.max_concurrency = 8;
  {
    pqxx::work w(*conn_);
    const auto old = lock_override(w, "tributi-push");
    write_override(w, old, o, root, "never committed", t0());
    w.abort();
  }
  EXPECT_EQ(count("SELECT count(*) FROM integration_overrides"), 0);
  EXPECT_EQ(
      count("SELECT count(*) FROM journal_events WHERE event_type LIKE 'integrationSettings%'"), 0);
  // The table refuses what the checks would: a value out of range stores nothing and journals
  // nothing.
  config::integration_override bad;
  bad.timeout = 50ms;
  EXPECT_THROW(change(bad, "too short"), pqxx::check_violation);
  EXPECT_EQ(count("SELECT count(*) FROM integration_overrides"), 0);
  EXPECT_EQ(
      count("SELECT count(*) FROM journal_events WHERE event_type LIKE 'integrationSettings%'"), 0);
}

TEST(integration_override_checks, same_rules_as_the_configuration) {
  const auto push = push_integration();
  const auto keys = [](const std::vector<config::override_problem>& ps) {
    std::vector<std::string> out;
    for (const auto& p : ps) out.push_back(p.key);
    return out;
  };
  config::integration_override o;
  o.base_url = "ftp://bo.example";
  EXPECT_EQ(keys(config::check_override(push, o, false)), std::vector<std::string>{"base_url"});
  o.base_url = "https://user:pw@bo.example";
  EXPECT_EQ(keys(config::check_override(push, o, false)), std::vector<std::string>{"base_url"});
  o.base_url = "https://bo.example/x?y=1";
  EXPECT_EQ(keys(config::check_override(push, o, false)), std::vector<std::string>{"base_url"});
  // What the clients could not use: a port out of range, a broken IPv6 literal.
  o.base_url = "https://bo.example:84430/x";
  EXPECT_EQ(keys(config::check_override(push, o, false)), std::vector<std::string>{"base_url"});
  o.base_url = "https://[::1/x";
  EXPECT_EQ(keys(config::check_override(push, o, false)), std::vector<std::string>{"base_url"});

  // The configured credentials (auth = "api_key") stay with the configured host and port, and
  // on TLS once there: the path may change, and http may become https.
  const auto url_problems = [&](const config::integration& configured, const std::string& url) {
    config::integration_override moved;
    moved.base_url = url;
    return config::check_override(configured, moved, false);
  };
  EXPECT_TRUE(url_problems(push, "http://BO.example:8080/pagohub/v2").empty());
  EXPECT_TRUE(url_problems(push, "https://bo.example:8080/pagohub").empty());
  for (const char* elsewhere : {"http://bo2.example:8080/pagohub", "http://bo.example:8081/pagohub",
                                "http://bo.example/pagohub", "https://bo.example/pagohub"}) {
    const auto ps = url_problems(push, elsewhere);
    ASSERT_EQ(keys(ps), std::vector<std::string>{"base_url"}) << elsewhere;
    EXPECT_NE(ps[0].message.find("bo.example:8080"), std::string::npos) << ps[0].message;
    EXPECT_NE(ps[0].message.find("change base_url in the configuration file"), std::string::npos)
        << ps[0].message;
    EXPECT_NE(ps[0].message.find("auth = \"api_key\""), std::string::npos) << ps[0].message;
  }
  auto tls = push;
  tls.base_url = "https://bo.example/pagohub";
  tls.auth = config::integration_auth::basic;
  tls.username = "gateway";
  EXPECT_TRUE(url_problems(tls, "https://bo.example:443/v2").empty());
  const auto clear = url_problems(tls, "http://bo.example/pagohub");
  ASSERT_EQ(keys(clear), std::vector<std::string>{"base_url"});
  EXPECT_NE(clear[0].message.find("must stay https://"), std::string::npos) << clear[0].message;
  // Both rules at once: another host, in clear text.
  EXPECT_EQ(keys(url_problems(tls, "http://evil.example/")),
            (std::vector<std::string>{"base_url", "base_url"}));
  auto v6 = push;
  v6.base_url = "https://[fd00::1]:8443/pagohub";
  EXPECT_TRUE(url_problems(v6, "https://[FD00::1]:8443/other").empty());
  EXPECT_EQ(keys(url_problems(v6, "https://[fd00::2]:8443/pagohub")),
            std::vector<std::string>{"base_url"});
  // Without credentials the endpoint may move anywhere.
  auto open = push;
  open.auth = config::integration_auth::none;
  open.secret.clear();
  EXPECT_TRUE(url_problems(open, "http://elsewhere.example:9000/bo").empty());
  // A stored override that moves the credentials elsewhere is not applied either (it may
  // predate the rule): the configured endpoint stays, and the holder says why.
  config::integration_holder guarded(
      std::make_shared<const config::integration_registry>(std::vector<config::integration>{push}));
  config::integration_override away;
  away.base_url = "https://attacker.example/collect";
  guarded.set_overrides({{"tributi-push", away}});
  EXPECT_EQ(guarded.get()->find("tributi-push")->base_url, push.base_url);
  ASSERT_EQ(guarded.ignored_overrides().count("tributi-push"), 1u);
  EXPECT_NE(guarded.ignored_overrides().at("tributi-push").find("configuration file"),
            std::string::npos)
      << guarded.ignored_overrides().at("tributi-push");

  config::integration_override ranges;
  ranges.timeout = 99ms;
  ranges.max_concurrency = 257;
  ranges.max_attempts = 0;
  ranges.max_age = 59s;
  config::integration_override forever;
  forever.max_age = std::chrono::hours(24 * 200'000);  // past 292 years, a clock overflows
  EXPECT_EQ(keys(config::check_override(push, forever, false)),
            std::vector<std::string>{"max_age"});
  ranges.breaker_open = 3'600'001ms;
  EXPECT_EQ(keys(config::check_override(push, ranges, false)),
            (std::vector<std::string>{"timeout_ms", "max_concurrency", "breaker_open_ms",
                                      "max_attempts", "max_age"}));

  config::integration_override backoff;
  backoff.backoff_max = 500ms;  // below the configured initial 1000 ms
  EXPECT_EQ(keys(config::check_override(push, backoff, false)),
            std::vector<std::string>{"backoff_max_ms"});

  // Mode rules: pull takes no endpoint and no retries; file needs a directory.
  config::integration_override pull;
  pull.mode = config::integration_mode::pull;
  pull.base_url = "https://bo.example";
  pull.max_attempts = 3;
  EXPECT_EQ(keys(config::check_override(push, pull, false)),
            (std::vector<std::string>{"base_url", "max_attempts"}));
  config::integration_override file;
  file.mode = config::integration_mode::file;
  EXPECT_EQ(keys(config::check_override(push, file, false)), std::vector<std::string>{"directory"});
  file.directory = "/nonexistent/pagohub-test-dir";
  EXPECT_TRUE(config::check_override(push, file, false).empty());
  EXPECT_EQ(keys(config::check_override(push, file, true)), std::vector<std::string>{"directory"});
  file.directory = ::testing::TempDir();
  EXPECT_TRUE(config::check_override(push, file, true).empty());
  const auto applied = config::apply_override(push, file);
  EXPECT_EQ(applied.mode, config::integration_mode::file);
  EXPECT_TRUE(applied.base_url.empty());  // no client, no lookups outside push

  // An integration a service looks up its positions through stays push: an override taking it
  // elsewhere is refused, and one set before the configuration gave it the lookup is ignored.
  auto looked_up = push;
  looked_up.lookup_of = "service TARI of entity 00000000000";
  const auto stay = config::check_override(looked_up, file, false);
  ASSERT_EQ(keys(stay), std::vector<std::string>{"mode"});
  EXPECT_NE(stay[0].message.find("must stay \"push\": service TARI"), std::string::npos)
      << stay[0].message;
  config::integration_holder lookups(std::make_shared<const config::integration_registry>(
      std::vector<config::integration>{looked_up}));
  lookups.set_overrides({{"tributi-push", file}});
  EXPECT_EQ(lookups.get()->find("tributi-push")->mode, config::integration_mode::push);
  EXPECT_EQ(lookups.get()->find("tributi-push")->base_url, push.base_url);
  ASSERT_EQ(lookups.ignored_overrides().count("tributi-push"), 1u);

  // An override that no longer fits (the configuration changed under it) is ignored, with why;
  // one for an id the configuration does not have is ignored silently (shown as orphaned).
  config::integration_holder holder(
      std::make_shared<const config::integration_registry>(std::vector<config::integration>{push}));
  config::integration_override stale;
  stale.directory = "/srv/drop";
  config::integration_override orphan;
  orphan.timeout = 1000ms;
  holder.set_overrides({{"tributi-push", stale}, {"gone", orphan}});
  EXPECT_EQ(holder.get()->find("tributi-push")->base_url, push.base_url);
  EXPECT_EQ(holder.get()->find("gone"), nullptr);
  ASSERT_EQ(holder.ignored_overrides().count("tributi-push"), 1u);
  EXPECT_EQ(holder.ignored_overrides().count("gone"), 0u);

  EXPECT_EQ(config::format_integration_duration(std::chrono::hours(72)), "3d");
  EXPECT_EQ(config::format_integration_duration(90min), "90m");
  EXPECT_EQ(config::format_integration_duration(61s), "61s");
}

}  // namespace
