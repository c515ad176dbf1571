// Every bad value stops loading with the file, the dotted key and a reason (ARCHITECTURE §7).
#include <string>
#include <vector>

#include "config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

struct bad_case {
  std::string name;
  std::string text;
  std::string key;
  std::string reason;  ///< a part of the expected reason
};

std::string with_entity(const entity_doc& e, const std::string& more = "") {
  return doc{.tail = e.text() + more}.text();
}

std::vector<bad_case> main_file_cases() {
  const entity_doc ok;
  return {
      {"unknown root key", doc{.root = "colour = 1\n"}.text(), "colour", "unknown key"},
      {"unknown daemon key", doc{.daemon = "threads = 2\n"}.text(), "daemon.threads",
       "unknown key"},
      {"io_threads negative", doc{.daemon = "io_threads = -1\n"}.text(), "daemon.io_threads",
       "between 0 and 1024"},
      {"io_threads string", doc{.daemon = "io_threads = \"4\"\n"}.text(), "daemon.io_threads",
       "must be an integer, not a string"},
      {"broker check digit", doc{.daemon = "broker_id = \"02468135798\"\n"}.text(),
       "daemon.broker_id", "check digit"},
      {"station layout", doc{.daemon = "station_id = \"02468135799-01\"\n"}.text(),
       "daemon.station_id", "two digits"},
      {"station of another broker",
       doc{.daemon = "broker_id = \"02468135799\"\nstation_id = \"01234567897_01\"\n"}.text(),
       "daemon.station_id", "must start with the broker's fiscal code"},
      {"no listener", doc{.listeners = ""}.text(), "listener", "at least one"},
      {"listener as a table", doc{.listeners = "[listener]\nname = \"main\"\n"}.text(), "listener",
       "[[listener]]"},
      {"port out of range", doc{.listeners = "[[listener]]\nname = \"a\"\nport = 70000\n"}.text(),
       "listener[0].port", "between 0 and 65535"},
      {"port as text", doc{.listeners = "[[listener]]\nname = \"a\"\nport = \"80\"\n"}.text(),
       "listener[0].port", "must be an integer"},
      {"listener without name", doc{.listeners = "[[listener]]\nport = 8080\n"}.text(),
       "listener[0].name", "is required"},
      {"listener bad name", doc{.listeners = "[[listener]]\nname = \"a b\"\n"}.text(),
       "listener[0].name", "letters, digits"},
      {"listener host name",
       doc{.listeners = "[[listener]]\nname = \"a\"\naddress = \"localhost\"\n"}.text(),
       "listener[0].address", "IPv4 or IPv6"},
      {"unknown listener key", doc{.listeners = "[[listener]]\nname = \"a\"\nprot = 1\n"}.text(),
       "listener[0].prot", "unknown key"},
      {"duplicate listener name",
       doc{.listeners =
               "[[listener]]\nname = \"a\"\nport = 1\n[[listener]]\nname = \"a\"\nport = 2\n"}
           .text(),
       "listener[1].name", "duplicate listener name"},
      {"duplicate port",
       doc{.listeners = "[[listener]]\nname = \"a\"\nport = 9000\n"
                        "[[listener]]\nname = \"b\"\naddress = \"0.0.0.0\"\nport = 9000\n"}
           .text(),
       "listener[1].port", "already used by listener[0]"},
      {"soap open to anyone",
       doc{.listeners = "[[listener]]\nname = \"pub\"\naddress = \"0.0.0.0\"\nport = 8080\n"}
           .text(),
       "pap", "allow_unauthenticated"},
      {"tls key without cert",
       doc{.listeners = "[[listener]]\nname = \"a\"\ntls_key_file = \"key.pem\"\n"}.text(),
       "listener[0].tls_key_file", "tls_cert_file is not"},
      {"tls cert without key",
       doc{.listeners = "[[listener]]\nname = \"a\"\ntls_cert_file = \"cert.pem\"\n"}.text(),
       "listener[0].tls_cert_file", "tls_key_file is not"},
      {"tls cert missing",
       doc{.listeners = "[[listener]]\nname = \"a\"\ntls_cert_file = \"missing.pem\"\n"
                        "tls_key_file = \"key.pem\"\n"}
           .text(),
       "listener[0].tls_cert_file", "does not exist"},
      {"client ca without tls",
       doc{.listeners = "[[listener]]\nname = \"a\"\ntls_client_ca_file = \"ca.pem\"\n"}.text(),
       "listener[0].tls_client_ca_file", "need TLS"},
      {"subjects without client ca",
       doc{.listeners = "[[listener]]\nname = \"a\"\ntls_cert_file = \"cert.pem\"\n"
                        "tls_key_file = \"key.pem\"\ntls_allowed_subjects = [\"CN=x\"]\n"}
           .text(),
       "listener[0].tls_allowed_subjects", "needs tls_client_ca_file"},
      {"empty subject",
       doc{.listeners = "[[listener]]\nname = \"a\"\ntls_cert_file = \"cert.pem\"\n"
                        "tls_key_file = \"key.pem\"\ntls_client_ca_file = \"ca.pem\"\n"
                        "tls_allowed_subjects = [\"CN=x\", \"\"]\n"}
           .text(),
       "listener[0].tls_allowed_subjects[1]", "must not be empty"},
      {"no db", doc{.db = ""}.text(), "db", "[db] table is required"},
      {"empty db", doc{.db = "[db]\npool_size = 4\n"}.text(), "db.conninfo", "no connection given"},
      {"pool too small", doc{.db = "[db]\nconninfo = \"dbname=y\"\npool_size = 0\n"}.text(),
       "db.pool_size", "between 1 and 256"},
      {"pool too large", doc{.db = "[db]\nconninfo = \"dbname=y\"\npool_size = 257\n"}.text(),
       "db.pool_size", "between 1 and 256"},
      {"conninfo libpq cannot parse",
       doc{.db = "[db]\nconninfo = \"host=h password='unterminated\"\n"}.text(), "db.conninfo",
       "libpq cannot parse it"},
      {"conninfo with an unknown keyword", doc{.db = "[db]\nconninfo = \"hots=h\"\n"}.text(),
       "db.conninfo", "libpq cannot parse it"},
      {"conninfo and parts", doc{.db = "[db]\nconninfo = \"dbname=y\"\nhost = \"h\"\n"}.text(),
       "db.host", "must not be set"},
      {"db port range", doc{.db = "[db]\nhost = \"h\"\nport = 0\n"}.text(), "db.port",
       "between 1 and 65535"},
      {"statement timeout negative",
       doc{.db = "[db]\nconninfo = \"dbname=y\"\nstatement_timeout_ms = -1\n"}.text(),
       "db.statement_timeout_ms", "between 0 and"},
      {"migrate as text",
       doc{.db = "[db]\nconninfo = \"dbname=y\"\nmigrate_on_start = \"yes\"\n"}.text(),
       "db.migrate_on_start", "true or false"},
      {"unknown db key", doc{.db = "[db]\nconninfo = \"dbname=y\"\npassword_cmd = \"x\"\n"}.text(),
       "db.password_cmd", "unknown key"},
      {"password file missing", doc{.db = "[db]\nhost = \"h\"\npassword_file = \"nope\"\n"}.text(),
       "db.password_file", "cannot read"},
      {"password env unset",
       doc{.db = "[db]\nhost = \"h\"\npassword_env = \"PAGOHUB_TEST_SURELY_UNSET\"\n"}.text(),
       "db.password_env", "PAGOHUB_TEST_SURELY_UNSET is not set"},
      {"body limit too small", doc{.tail = "[limits]\nmax_body_bytes = 10\n"}.text(),
       "limits.max_body_bytes", "between 1024 and"},
      {"unknown limits key", doc{.tail = "[limits]\nmax_bodies = 10\n"}.text(), "limits.max_bodies",
       "unknown key"},
      {"deadline as float", doc{.tail = "[limits]\nrequest_deadline_ms = 1.5\n"}.text(),
       "limits.request_deadline_ms", "not a floating-point number"},
      {"log level", doc{.tail = "[logging]\nlevel = \"verbose\"\n"}.text(), "logging.level",
       "must be one of"},
      {"log format", doc{.tail = "[logging]\nformat = \"xml\"\n"}.text(), "logging.format",
       "text or json"},
      {"logging as array", doc{.root = "logging = [1]\n"}.text(), "logging", "must be a table"},
      {"sql dir missing", doc{.paths = "sql_dir = \"nosuchdir\"\n"}.text(), "paths.sql_dir",
       "does not exist"},
      {"entities dir missing", doc{.paths = "sql_dir = \"sql\"\nentities_dir = \"ents\"\n"}.text(),
       "paths.entities_dir", "does not exist"},
      // Entities in the main file.
      {"entity as a table", doc{.tail = "[entity]\nname = \"x\"\n"}.text(), "entity", "[[entity]]"},
      {"entity check digit",
       with_entity({.head = "fiscal_code = \"01234567898\"\nname = \"x\"\nsegregation_code = 1\n"}),
       "entity[0].fiscal_code", "check digit"},
      {"entity code as integer",
       with_entity({.head = "fiscal_code = 80012000826\nname = \"x\"\nsegregation_code = 1\n"}),
       "entity[0].fiscal_code", "must be a string"},
      {"entity without name",
       with_entity({.head = "fiscal_code = \"01234567897\"\nsegregation_code = 1\n"}),
       "entity[0].name", "is required"},
      {"entity unknown key", with_entity({.head = ok.head + "colour = \"red\"\n"}),
       "entity[0].colour", "unknown key"},
      {"aux 3 without segregation",
       with_entity({.head = "fiscal_code = \"01234567897\"\nname = \"x\"\n"}),
       "entity[0].segregation_code", "required when aux_digit is 3"},
      {"segregation out of range",
       with_entity(
           {.head = "fiscal_code = \"01234567897\"\nname = \"x\"\nsegregation_code = 100\n"}),
       "entity[0].segregation_code", "between 0 and 99"},
      {"aux 2", with_entity({.head = ok.head + "aux_digit = 2\n"}), "entity[0].aux_digit",
       "must be 3"},
      {"aux 0 without application code",
       with_entity({.head = "fiscal_code = \"01234567897\"\nname = \"x\"\naux_digit = 0\n"}),
       "entity[0].application_code", "required when aux_digit is 0"},
      {"application code with aux 3", with_entity({.head = ok.head + "application_code = 5\n"}),
       "entity[0].application_code", "only when aux_digit is 0"},
      {"entity station layout", with_entity({.head = ok.head + "station_id = \"x\"\n"}),
       "entity[0].station_id", "two digits"},
      {"entity broker check digit",
       with_entity({.head = ok.head + "broker_id = \"12345678901\"\n"}), "entity[0].broker_id",
       "check digit"},
      {"entity broker not matching station",
       with_entity({.head = ok.head + "broker_id = \"01234567897\"\n"}), "entity[0].broker_id",
       "does not match the station id"},
      {"no broker anywhere", doc{.daemon = "", .tail = ok.text()}.text(), "entity[0].broker_id",
       "here or in [daemon]"},
      {"postal account layout",
       with_entity({.head = "fiscal_code = \"01234567897\"\nname = \"x\"\nsegregation_code = 1\n"
                            "postal_account = \"12345\"\n"}),
       "entity[0].postal_account", "12 digits"},
      {"enabled as text", with_entity({.head = ok.head + "enabled = \"no\"\n"}),
       "entity[0].enabled", "true or false"},
      {"iban mod 97",
       with_entity(
           ok,
           "[[entity]]\nfiscal_code = \"80012000826\"\nname = \"y\"\n"
           "segregation_code = 2\n[[entity.iban]]\niban = \"IT60X0542811101000000123457\"\n"),
       "entity[1].iban[0].iban", "not a valid IBAN"},
      {"iban with spaces",
       with_entity({.ibans = "[[entity.iban]]\niban = \"IT60 X054 2811 1010 0000 0123 456\"\n",
                    .services = ""}),
       "entity[0].iban[0].iban", "no spaces"},
      {"postal flag on ordinary iban",
       with_entity({.ibans = "[[entity.iban]]\niban = \"IT60X0542811101000000123456\"\n"
                             "postal = true\n",
                    .services = ""}),
       "entity[0].iban[0].postal", "not a Poste Italiane account"},
      {"duplicate iban",
       with_entity(
           {.ibans = ok.ibans + "[[entity.iban]]\niban = \"it60x0542811101000000123456\"\n"}),
       "entity[0].iban[2].iban", "duplicate IBAN"},
      {"unknown iban key",
       with_entity({.ibans = "[[entity.iban]]\niban = \"IT60X0542811101000000123456\"\nbic = 1\n",
                    .services = ""}),
       "entity[0].iban[0].bic", "unknown key"},
      {"iban missing", with_entity({.ibans = "[[entity.iban]]\npostal = false\n", .services = ""}),
       "entity[0].iban[0].iban", "is required"},
      {"duplicate service",
       with_entity({.services = ok.services +
                                "[[entity.service]]\ncode = \"TARI\"\n"
                                "description = \"again\"\ntaxonomy = \"9/0101002IM/\"\n"}),
       "entity[0].service[1].code", "duplicate service code"},
      {"bad taxonomy",
       with_entity({.services = "[[entity.service]]\ncode = \"X\"\ndescription = \"x\"\n"
                                "taxonomy = \"0101002IM\"\n"}),
       "entity[0].service[0].taxonomy", "9/0101002IM/"},
      {"taxonomy prefix",
       with_entity({.services = "[[entity.service]]\ncode = \"X\"\ndescription = \"x\"\n"
                                "taxonomy = \"5/0101002IM/\"\n"}),
       "entity[0].service[0].taxonomy", "prefix 6..9"},
      {"taxonomy reason",
       with_entity({.services = "[[entity.service]]\ncode = \"X\"\ndescription = \"x\"\n"
                                "taxonomy = \"9/0101002XX/\"\n"}),
       "entity[0].service[0].taxonomy", "IM|TS|SP|SA|AP"},
      {"default iban not the entity's",
       with_entity({.services = "[[entity.service]]\ncode = \"X\"\ndescription = \"x\"\n"
                                "taxonomy = \"9/0101002IM/\"\n"
                                "default_ibans = [\"DE89370400440532013000\"]\n"}),
       "entity[0].service[0].default_ibans[0]", "not one of the entity's IBANs"},
      {"spontaneous as text",
       with_entity({.services = "[[entity.service]]\ncode = \"X\"\ndescription = \"x\"\n"
                                "taxonomy = \"9/0101002IM/\"\nspontaneous = \"yes\"\n"}),
       "entity[0].service[0].spontaneous", "true or false"},
      {"unknown service key",
       with_entity({.services = "[[entity.service]]\ncode = \"X\"\ndescription = \"x\"\n"
                                "taxonomy = \"9/0101002IM/\"\nprice = 1\n"}),
       "entity[0].service[0].price", "unknown key"},
      {"duplicate entity", with_entity(ok, ok.text()), "entity[1].fiscal_code", "duplicate entity"},
  };
}

class errors : public config_dir {
 protected:
  void SetUp() override {
    config_dir::SetUp();
    write("cert.pem", "cert");
    write("key.pem", "key");
    write("ca.pem", "ca");
  }
};

TEST_F(errors, baseline_is_valid) {
  EXPECT_NO_THROW(load_text(doc{}.text()));
  EXPECT_NO_THROW(load_text(doc{.tail = entity_doc{}.text()}.text()));
}

TEST_F(errors, each_bad_value_names_file_key_and_reason) {
  for (const auto& c : main_file_cases()) {
    SCOPED_TRACE(c.name);
    const auto e = error_of(c.text);
    ASSERT_TRUE(e.has_value()) << c.text;
    EXPECT_EQ(e->file, main_file().string());
    EXPECT_EQ(e->key, c.key);
    EXPECT_NE(e->reason.find(c.reason), std::string::npos) << e->reason;
    EXPECT_EQ(std::string(e->what()), e->file + ": " + e->key + ": " + e->reason);
  }
}

TEST_F(errors, toml_syntax) {
  const auto e = error_of("[daemon\nio_threads = 1\n");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->file, main_file().string());
  EXPECT_EQ(e->key, "");
  EXPECT_NE(e->reason.find("line 1"), std::string::npos) << e->reason;
  EXPECT_EQ(std::string(e->what()), e->file + ": " + e->reason);
}

TEST_F(errors, missing_file) {
  try {
    (void)load(dir_ / "absent.toml");
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.file, (dir_ / "absent.toml").string());
    EXPECT_NE(e.reason.find("cannot read"), std::string::npos);
  }
}

TEST_F(errors, relative_file_name_is_made_absolute) {
  write("pagohub.toml", doc{.root = "colour = 1\n"}.text());
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  std::string file;
  try {
    (void)load("pagohub.toml");
  } catch (const config_error& e) {
    file = e.file;
  }
  std::filesystem::current_path(cwd);
  EXPECT_EQ(file, main_file().string());
}

TEST_F(errors, entity_file_errors_name_the_entity_file) {
  write("entities/a.toml", entity_doc{}.text());
  const auto bad = write("entities/b.toml",
                         "[[entity]]\nfiscal_code = \"80012000826\"\nname = \"y\"\n"
                         "segregation_code = 2\n[[entity.iban]]\n"
                         "iban = \"IT60X0542811101000000123457\"\n");
  const std::string main_text =
      doc{.paths = "sql_dir = \"sql\"\nentities_dir = \"entities\"\n"}.text();
  auto e = error_of(main_text);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->file, bad.string());
  EXPECT_EQ(e->key, "entity[0].iban[0].iban");

  // A key outside [[entity]] in an entity file.
  write("entities/b.toml", "[daemon]\nio_threads = 1\n");
  e = error_of(main_text);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->file, bad.string());
  EXPECT_EQ(e->key, "daemon");
  EXPECT_NE(e->reason.find("unknown key"), std::string::npos);

  // The same entity in the main file and in a.toml: the second sighting is the error.
  std::filesystem::remove(bad);
  e = error_of(
      doc{.paths = "sql_dir = \"sql\"\nentities_dir = \"entities\"\n", .tail = entity_doc{}.text()}
          .text());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->file, (dir_ / "entities/a.toml").string());
  EXPECT_EQ(e->key, "entity[0].fiscal_code");
  EXPECT_NE(e->reason.find(main_file().string()), std::string::npos) << e->reason;

  // A syntax error in an entity file.
  write("entities/a.toml", "[[entity]\n");
  e = error_of(main_text);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->file, (dir_ / "entities/a.toml").string());
  EXPECT_EQ(e->key, "");
}

}  // namespace
}  // namespace pagohub::config::testing
