// [[integration]]: back-office integrations, their routing (entity, application), auth
// settings, secrets from files, and errors with file, key and reason.
#include "config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

const std::string digest_a(64, 'a');
const std::string digest_b(64, 'b');

std::string apps() {
  return "[[application]]\nid = \"tributi\"\nname = \"Tributi\"\nentities = [\"01234567897\"]\n"
         "api_key_hashes = [\"blake2b:" +
         digest_a +
         "\"]\n"
         "[[application]]\nid = \"mense\"\nname = \"Mense\"\nentities = [\"01234567897\"]\n"
         "api_key_hashes = [\"blake2b:" +
         digest_b + "\"]\n";
}

std::string integration(const std::string& body) {
  return "[[integration]]\n" + body;
}

class integrations_test : public config_dir {
 protected:
  std::string with(const std::string& tail) {
    doc d;
    d.tail = entity_doc{}.text() + apps() + tail;
    return d.text();
  }
  void expect_error(const std::string& text, const std::string& key, const std::string& reason) {
    auto e = error_of(text);
    ASSERT_TRUE(e.has_value()) << text;
    EXPECT_EQ(e->key, key) << e->what();
    EXPECT_NE(e->reason.find(reason), std::string::npos) << e->what();
  }
};

TEST_F(integrations_test, push_with_defaults_and_routing) {
  write("bo.secret", "  top-secret \n");
  const config cfg = load_text(
      with(integration("id = \"tributi-push\"\nentities = [\"01234567897\"]\n"
                       "application = \"tributi\"\nbase_url = \"https://bo.example/api/\"\n"
                       "auth = \"api_key\"\nsecret_file = \"bo.secret\"\n") +
           integration("id = \"default-files\"\nentities = [\"01234567897\"]\nmode = \"file\"\n"
                       "directory = \".\"\nmax_age = \"7d\"\nstate = \"suspended\"\n")));
  ASSERT_TRUE(cfg.integrations);
  ASSERT_EQ(cfg.integrations->size(), 2u);
  const auto* push = cfg.integrations->find("tributi-push");
  ASSERT_NE(push, nullptr);
  EXPECT_EQ(push->mode, integration_mode::push);
  EXPECT_EQ(push->auth, integration_auth::api_key);
  EXPECT_EQ(push->secret, "top-secret");
  EXPECT_EQ(push->api_key_header, "X-API-Key");
  EXPECT_EQ(push->timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(push->max_concurrency, 4u);
  EXPECT_EQ(push->max_attempts, 25);
  EXPECT_FALSE(push->initially_suspended);
  const auto* file = cfg.integrations->find("default-files");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->max_age, std::chrono::hours(24 * 7));
  EXPECT_TRUE(file->initially_suspended);
  EXPECT_EQ(file->directory, dir_.string());
  // The application's own integration, else the entity's default.
  EXPECT_EQ(cfg.integrations->route("01234567897", "tributi"), push);
  EXPECT_EQ(cfg.integrations->route("01234567897", "mense"), file);
  EXPECT_EQ(cfg.integrations->route("01234567897", ""), file);
  EXPECT_EQ(cfg.integrations->route("99999999999", "tributi"), nullptr);
  // check-config never shows the secret.
  EXPECT_EQ(describe(cfg).find("top-secret"), std::string::npos);
  EXPECT_NE(describe(cfg).find("tributi-push: push"), std::string::npos);
}

TEST_F(integrations_test, oauth2_and_pull) {
  const config cfg = load_text(with(
      integration("id = \"o\"\nentities = [\"01234567897\"]\napplication = \"mense\"\n"
                  "base_url = \"http://127.0.0.1:9000\"\nauth = \"oauth2\"\nusername = \"cid\"\n"
                  "secret = \"s\"\ntoken_url = \"http://127.0.0.1:9000/oauth/token\"\n"
                  "scope = \"receipts\"\ntimeout_ms = 2000\nmax_concurrency = 8\n"
                  "max_attempts = 3\nbackoff_initial_ms = 50\nbackoff_max_ms = 500\n") +
      integration("id = \"p\"\nentities = [\"01234567897\"]\nmode = \"pull\"\n")));
  const auto* o = cfg.integrations->find("o");
  EXPECT_EQ(o->auth, integration_auth::oauth2);
  EXPECT_EQ(o->token_url, "http://127.0.0.1:9000/oauth/token");
  EXPECT_EQ(o->max_concurrency, 8u);
  EXPECT_EQ(o->backoff_initial, std::chrono::milliseconds(50));
  EXPECT_EQ(cfg.integrations->find("p")->mode, integration_mode::pull);
}

TEST_F(integrations_test, errors_name_the_key) {
  const std::string ok_head = "id = \"x\"\nentities = [\"01234567897\"]\n";
  expect_error(with(integration("id = \"X\"\nentities = [\"01234567897\"]\nmode = \"pull\"\n")),
               "integration[0].id", "a-z");
  expect_error(with(integration("id = \"x\"\nentities = [\"11111111111\"]\nmode = \"pull\"\n")),
               "integration[0].entities[0]", "not in the entity registry");
  expect_error(with(integration(ok_head + "mode = \"pull\"\napplication = \"nope\"\n")),
               "integration[0].application", "not defined");
  expect_error(with(integration(ok_head + "mode = \"carrier-pigeon\"\n")), "integration[0].mode",
               "push, pull or file");
  expect_error(with(integration(ok_head)), "integration[0].base_url", "is required");
  expect_error(with(integration(ok_head + "base_url = \"ftp://x\"\n")), "integration[0].base_url",
               "http://");
  expect_error(with(integration(ok_head + "base_url = \"http://u:p@x\"\n")),
               "integration[0].base_url", "user information");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\nauth = \"api_key\"\n")),
               "integration[0].secret", "is required");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\nauth = \"oauth2\"\n"
                                          "username = \"u\"\nsecret = \"s\"\n")),
               "integration[0].token_url", "is required");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\nauth = \"mtls\"\n")),
               "integration[0].client_cert_file", "is required");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\nsecret = \"s\"\n"
                                          "secret_env = \"E\"\n")),
               "integration[0].secret", "only one");
  expect_error(with(integration(ok_head + "mode = \"file\"\n")), "integration[0].directory",
               "is required");
  expect_error(with(integration(ok_head + "mode = \"file\"\ndirectory = \"missing\"\n")),
               "integration[0].directory", "not an existing directory");
  expect_error(with(integration(ok_head + "mode = \"pull\"\nbase_url = \"http://x\"\n")),
               "integration[0].base_url", "applies to mode");
  expect_error(with(integration(ok_head + "mode = \"pull\"\nmax_attempts = 3\n")),
               "integration[0].max_attempts", "does not apply");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\nmax_age = \"3 days\"\n")),
               "integration[0].max_age", "duration");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\nmax_age = \"3651d\"\n")),
               "integration[0].max_age", "3650d");
  expect_error(with(integration(ok_head + "base_url = \"http://x:0\"\n")),
               "integration[0].base_url", "port");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\ntimeout_ms = 5\n")),
               "integration[0].timeout_ms", "between");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\nstate = \"paused\"\n")),
               "integration[0].state", "active or suspended");
  expect_error(with(integration(ok_head + "base_url = \"http://x\"\ncolour = \"red\"\n")),
               "integration[0].colour", "unknown key");
  expect_error(with("[integration]\nid = \"x\"\n"), "integration", "array of tables");
}

TEST_F(integrations_test, one_destination_per_route) {
  const std::string a = "entities = [\"01234567897\"]\nmode = \"pull\"\n";
  expect_error(with(integration("id = \"a\"\n" + a) +
                    integration("id = \"a\"\n" + a + "application = \"mense\"\n")),
               "integration[1].id", "duplicate integration");
  expect_error(with(integration("id = \"a\"\n" + a) + integration("id = \"b\"\n" + a)),
               "integration[1].entities", "already has a default integration");
  expect_error(with(integration("id = \"a\"\n" + a + "application = \"mense\"\n") +
                    integration("id = \"b\"\n" + a + "application = \"mense\"\n")),
               "integration[1].application", "already has an integration for application mense");
}

TEST_F(integrations_test, service_lookups_name_a_push_integration_of_the_entity) {
  const auto with_lookup = [&](const std::string& lookup, const std::string& integrations) {
    entity_doc e;
    e.services +=
        "[[entity.service]]\ncode = \"MENSA\"\ndescription = \"Mensa\"\n"
        "taxonomy = \"9/0101002IM/\"\n"
        "default_ibans = [\"IT60X0542811101000000123456\"]\nlookup = \"" +
        lookup + "\"\n";
    doc d;
    d.tail = e.text() + apps() + integrations;
    return d.text();
  };
  const std::string push = integration(
      "id = \"bo\"\nentities = [\"01234567897\"]\napplication = \"mense\"\n"
      "base_url = \"http://127.0.0.1:9000\"\n");
  const config cfg = load_text(with_lookup("bo", push));
  EXPECT_EQ(cfg.entities->find("01234567897")->find_service("MENSA")->lookup, "bo");
  expect_error(with_lookup("missing", push), "entity 01234567897 service MENSA: lookup",
               "not defined");
  expect_error(with_lookup("p", integration("id = \"p\"\nentities = [\"01234567897\"]\n"
                                            "mode = \"pull\"\n")),
               "entity 01234567897 service MENSA: lookup", "push");
}

// The positions a lookup stores are the integration's application's: it must have one, granted
// the service, or a back-office could store through a lookup what its key may not write.
TEST_F(integrations_test, service_lookups_store_for_an_application_granted_the_service) {
  const auto with_lookup = [&](const std::string& integrations) {
    entity_doc e;
    e.services +=
        "[[entity.service]]\ncode = \"MENSA\"\ndescription = \"Mensa\"\n"
        "taxonomy = \"9/0101002IM/\"\n"
        "default_ibans = [\"IT60X0542811101000000123456\"]\nlookup = \"bo\"\n";
    doc d;
    d.tail = e.text() + apps() +
             "[[application]]\nid = \"solo-tari\"\nname = \"TARI\"\n"
             "entities = [\"01234567897\"]\nservices = [\"TARI\"]\n"
             "api_key_hashes = [\"blake2b:" +
             std::string(64, 'c') + "\"]\n" + integrations;
    return d.text();
  };
  const auto push = [](const std::string& application) {
    return integration("id = \"bo\"\nentities = [\"01234567897\"]\n" + application +
                       "base_url = \"http://127.0.0.1:9000\"\n");
  };
  EXPECT_NO_THROW(load_text(with_lookup(push("application = \"mense\"\n"))));
  expect_error(with_lookup(push("")), "entity 01234567897 service MENSA: lookup",
               "names no application");
  expect_error(with_lookup(push("application = \"solo-tari\"\n")),
               "entity 01234567897 service MENSA: lookup", "not granted");
}

TEST_F(integrations_test, integrations_beside_applications_and_reload) {
  write("apps/t.toml", apps() + integration("id = \"t\"\nentities = [\"01234567897\"]\n"
                                            "application = \"tributi\"\nmode = \"pull\"\n"));
  doc d;
  d.paths += "applications_dir = \"apps\"\n";
  d.tail = entity_doc{}.text();
  const config cfg = load_text(d.text());
  ASSERT_EQ(cfg.integrations->size(), 1u);
  auto entities = load_entities(cfg);
  auto applications = load_applications(cfg, entities);
  auto integrations = load_integrations(cfg, *applications);
  EXPECT_NE(integrations->find("t"), nullptr);
}

}  // namespace
}  // namespace pagohub::config::testing
