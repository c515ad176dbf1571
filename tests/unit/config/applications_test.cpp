// [[application]]: back-office applications, inline and in paths.applications_dir, checked
// against the entity registry; [api] rate-limit defaults; reload.
#include "config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

const std::string digest_a(64, 'a');
const std::string digest_b(64, 'b');
const std::string digest_c = "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";

std::string app(const std::string& body) {
  return "[[application]]\n" + body;
}

std::string basic_app(const std::string& id, const std::string& digest,
                      const std::string& more = "") {
  return app("id = \"" + id + "\"\nname = \"Gestionale tributi\"\nentities = [\"01234567897\"]\n" +
             "api_key_hashes = [\"blake2b:" + digest + "\"]\n" + more);
}

class applications_test : public config_dir {
 protected:
  std::string with(const std::string& tail, const std::string& paths_extra = "") {
    doc d;
    d.paths += paths_extra;
    d.tail = entity_doc{}.text() + tail;
    return d.text();
  }

  void expect_error(const std::string& text, const std::string& key, const std::string& reason,
                    const std::string& file = {}) {
    auto e = error_of(text);
    ASSERT_TRUE(e.has_value()) << text;
    EXPECT_EQ(e->key, key) << e->what();
    EXPECT_NE(e->reason.find(reason), std::string::npos) << e->what();
    if (!file.empty()) {
      EXPECT_EQ(e->file, (dir_ / file).string());
    }
  }
};

TEST_F(applications_test, inline_application_with_defaults) {
  const config cfg = load_text(with(basic_app("tributi", digest_a)));
  ASSERT_TRUE(cfg.applications);
  ASSERT_EQ(cfg.applications->size(), 1u);
  const application* a = cfg.applications->find("tributi");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "Gestionale tributi");
  EXPECT_EQ(a->entities, std::vector<std::string>{"01234567897"});
  EXPECT_TRUE(a->services.empty());
  EXPECT_EQ(a->role, application_role::backoffice);
  EXPECT_EQ(a->rate_per_second, 50);
  EXPECT_EQ(a->burst, 100);
  EXPECT_EQ(cfg.applications->find_by_key_digest(digest_a), a);
  EXPECT_EQ(cfg.applications->find_by_key_digest(digest_b), nullptr);
  EXPECT_TRUE(a->grants_entity("01234567897"));
  EXPECT_FALSE(a->grants_entity("80012000826"));
  EXPECT_TRUE(a->grants_service("ANYTHING"));  // no list: every service
  // The snapshot carries the entities it was checked against.
  EXPECT_EQ(cfg.applications->entities_ptr(), cfg.entities);
}

TEST_F(applications_test, every_key_reaches_its_field) {
  write("keys/tributi.txt",
        "# key of the test system\n\nblake2b:" + digest_b + "\n  blake2b:" + digest_c + "  \n");
  const config cfg = load_text(
      "[api]\nrate_per_second = 7\nburst = 9\ncreate_batch_size = 16\n"
      "create_batches_in_flight = 3\n" +
      with(app("id = \"tributi-2\"\nname = \"T\"\nentities = [\"01234567897\"]\n"
               "services = [\"TARI\"]\napi_key_hashes = [\"blake2b:" +
               digest_a +
               "\"]\napi_key_hashes_file = \"keys/tributi.txt\"\nrole = \"operator\"\n"
               "rate_per_second = 3\nburst = 4\n") +
           basic_app("other", std::string(64, 'd'))));
  EXPECT_EQ(cfg.daemon.api.rate_per_second, 7);
  EXPECT_EQ(cfg.daemon.api.burst, 9);
  EXPECT_EQ(cfg.daemon.api.create_batch_size, 16);
  EXPECT_EQ(cfg.daemon.api.create_batches_in_flight, 3);
  const application* a = cfg.applications->find("tributi-2");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->services, std::vector<std::string>{"TARI"});
  EXPECT_TRUE(a->grants_service("TARI"));
  EXPECT_FALSE(a->grants_service("MENSA"));
  EXPECT_EQ(a->role, application_role::operator_role);
  EXPECT_EQ(a->rate_per_second, 3);
  EXPECT_EQ(a->burst, 4);
  // Inline digests first, then the file's, lower-cased.
  ASSERT_EQ(a->key_hashes.size(), 3u);
  EXPECT_EQ(a->key_hashes[0], digest_a);
  EXPECT_EQ(a->key_hashes[1], digest_b);
  EXPECT_EQ(a->key_hashes[2], "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  const application* other = cfg.applications->find("other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->rate_per_second, 7);  // from [api]
  EXPECT_EQ(other->burst, 9);
  EXPECT_NE(describe(cfg).find("tributi-2 T: role operator"), std::string::npos) << describe(cfg);
}

TEST_F(applications_test, applications_dir_files_load_in_name_order) {
  write("apps/b.toml", basic_app("second", digest_b));
  write("apps/a.toml", basic_app("first", digest_a));
  write("apps/readme.txt", "not an application file");
  const config cfg = load_text(with("", "applications_dir = \"apps\"\n"));
  ASSERT_EQ(cfg.applications->size(), 2u);
  EXPECT_EQ(cfg.applications->all()[0].id, "first");
  EXPECT_EQ(cfg.applications->all()[1].id, "second");
  EXPECT_EQ(cfg.daemon.paths.applications_dir, (dir_ / "apps").string());
}

TEST_F(applications_test, a_missing_applications_dir_is_allowed) {
  const config cfg = load_text(with("", "applications_dir = \"not-yet\"\n"));
  EXPECT_EQ(cfg.applications->size(), 0u);
  // Once it exists, a reload finds its files.
  write("not-yet/demo.toml", basic_app("demo", digest_a));
  auto entities = load_entities(cfg);
  auto apps = load_applications(cfg, entities);
  ASSERT_EQ(apps->size(), 1u);
  EXPECT_EQ(apps->entities_ptr(), entities);
}

TEST_F(applications_test, reload_checks_applications_against_the_new_entities) {
  write("entities/e.toml", entity_doc{}.text());
  write("apps/a.toml", basic_app("tributi", digest_a));
  doc d;
  d.paths += "entities_dir = \"entities\"\napplications_dir = \"apps\"\n";
  const config cfg = load_text(d.text());
  ASSERT_EQ(cfg.applications->size(), 1u);
  // The entity disappears: the applications no longer load, and the caller keeps both.
  write("entities/e.toml", "");
  auto entities = load_entities(cfg);
  try {
    (void)load_applications(cfg, entities);
    FAIL() << "expected a config_error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.key, "application[0].entities[0]");
    EXPECT_EQ(e.file, (dir_ / "apps/a.toml").string());
  }
}

TEST_F(applications_test, bad_applications_name_file_key_and_reason) {
  expect_error(with(basic_app("Tributi", digest_a)), "application[0].id", "a-z, 0-9");
  expect_error(with(basic_app(std::string(41, 'a'), digest_a)), "application[0].id", "1..40");
  expect_error(with(basic_app("x", digest_a, "colour = 1\n")), "application[0].colour",
               "unknown key");
  expect_error(
      with(app("id = \"x\"\nname = \"n\"\napi_key_hashes = [\"blake2b:" + digest_a + "\"]\n")),
      "application[0].entities", "at least one");
  expect_error(with(app("id = \"x\"\nname = \"n\"\nentities = [\"80012000826\"]\n"
                        "api_key_hashes = [\"blake2b:" +
                        digest_a + "\"]\n")),
               "application[0].entities[0]", "not in the entity registry");
  expect_error(with(basic_app("x", digest_a, "services = [\"TARI\", \"NOPE\"]\n")),
               "application[0].services[1]", "not a service");
  expect_error(with(app("id = \"x\"\nname = \"n\"\nentities = [\"01234567897\"]\n")),
               "application[0].api_key_hashes", "no API key");
  expect_error(with(basic_app("x", "abc")), "application[0].api_key_hashes[0]", "blake2b:");
  expect_error(with(app("id = \"x\"\nname = \"n\"\nentities = [\"01234567897\"]\n"
                        "api_key_hashes = [\"sha256:" +
                        digest_a + "\"]\n")),
               "application[0].api_key_hashes[0]", "blake2b:");
  expect_error(with(basic_app("x", digest_a, "role = \"root\"\n")), "application[0].role",
               "backoffice, operator or admin");
  expect_error(with(basic_app("x", digest_a, "burst = 0\n")), "application[0].burst", "between 1");
  expect_error(with(basic_app("x", digest_a) + basic_app("x", digest_b)), "application[1].id",
               "duplicate application");
  expect_error(with(basic_app("x", digest_a) + basic_app("y", digest_a)),
               "application[1].api_key_hashes", "listed twice");
  expect_error(with("[application]\nid = \"x\"\n"), "application", "[[application]]");
  expect_error("[api]\nrate = 3\n" + with(""), "api.rate", "unknown key");
  expect_error(with(basic_app("x", digest_a, "api_key_hashes_file = \"missing.txt\"\n")),
               "application[0].api_key_hashes_file", "does not exist");
  write("bad-keys.txt", "blake2b:" + digest_b + "\nnot a digest\n");
  expect_error(with(basic_app("x", digest_a, "api_key_hashes_file = \"bad-keys.txt\"\n")),
               "application[0].api_key_hashes_file", "line 2");
}

TEST_F(applications_test, duplicates_across_files_name_both_places) {
  write("apps/a.toml", basic_app("same", digest_a));
  write("apps/b.toml", basic_app("same", digest_b));
  auto e = error_of(with("", "applications_dir = \"apps\"\n"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->file, (dir_ / "apps/b.toml").string());
  EXPECT_EQ(e->key, "application[0].id");
  EXPECT_NE(e->reason.find((dir_ / "apps/a.toml").string()), std::string::npos) << e->what();
  // An application file holds applications only.
  write("apps/b.toml", "[[entity]]\nfiscal_code = \"80012000826\"\n");
  e = error_of(with("", "applications_dir = \"apps\"\n"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->key, "entity");
}

TEST(application_holder, swaps_snapshots) {
  auto first = std::make_shared<const application_registry>();
  application_holder holder(first);
  EXPECT_EQ(holder.get(), first);
  auto second = std::make_shared<const application_registry>();
  holder.set(second);
  EXPECT_EQ(holder.get(), second);
}

}  // namespace
}  // namespace pagohub::config::testing
