// Loading valid configurations: every key reaches its field, defaults apply, entity files load
// and reload.
#include <atomic>
#include <thread>

#include "config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

using std::chrono::milliseconds;

const char* const full_config = R"(
[daemon]
io_threads = 4
station_id = "02468135799_01"
broker_id = "02468135799"

[[listener]]
name = "nodo"
address = "0.0.0.0"
port = 8443
tls_cert_file = "tls/cert.pem"
tls_key_file = "tls/key.pem"
tls_client_ca_file = "tls/ca.pem"
tls_allowed_subjects = ["CN=nodo-dei-pagamenti.pagopa.it", "CN=other"]

[[listener]]
name = "local"
address = "::1"
port = 8080

[db]
host = "db.example.internal"
port = 5432
dbname = "pagohub"
user = "pagohub app"
password_file = "secrets/db_password"
pool_size = 16
statement_timeout_ms = 15000
connect_timeout_ms = 2000
migrate_on_start = false

[limits]
max_body_bytes = 4194304
max_header_bytes = 8192
request_deadline_ms = 20000
shutdown_grace_ms = 5000
max_connections = 500
max_connections_per_address = 50
idle_timeout_ms = 15000

[logging]
level = "debug"
format = "json"
access_log = false

[paths]
web_root = "/nonexistent-web-root-for-test"
sql_dir = "sql"
entities_dir = "entities"

[[entity]]
fiscal_code = "01234567897"
name = "Comune di Esempio"
segregation_code = 1
postal_account = "000012345678"
enabled = true

[[entity.iban]]
iban = "it60x0542811101000000123456"
description = "Tesoreria"

[[entity.iban]]
iban = "IT22L0760101600000012345678"
postal = true
description = "Conto postale"

[[entity.service]]
code = "TARI"
description = "Tassa rifiuti"
taxonomy = "9/0101002IM/"
default_ibans = ["IT60X0542811101000000123456", "IT22L0760101600000012345678"]
expires_after_due_date = true

[[entity.service]]
code = "DIRITTI"
description = "Diritti di segreteria"
taxonomy = "8/0101101SP/"
spontaneous = true
)";

const char* const file_entity = R"(
[[entity]]
fiscal_code = "80012000826"
name = "Unione dei Comuni"
aux_digit = 0
application_code = 7
station_id = "01199250158_03"
broker_id = "01199250158"
enabled = false
)";

class load_test : public config_dir {
 protected:
  void SetUp() override {
    config_dir::SetUp();
    write("tls/cert.pem", "cert");
    write("tls/key.pem", "key");
    write("tls/ca.pem", "ca");
    write("secrets/db_password", "  pa55word\n");
    write("entities/unione.toml", file_entity);
    write("entities/notes.txt", "not an entity file");
  }
};

TEST_F(load_test, full_config_reaches_every_field) {
  const config cfg = load_text(full_config);
  EXPECT_EQ(cfg.file, main_file());
  const auto& d = cfg.daemon;
  EXPECT_EQ(d.io_threads, 4);
  EXPECT_EQ(d.station_id, "02468135799_01");
  EXPECT_EQ(d.broker_id, "02468135799");

  ASSERT_EQ(d.listeners.size(), 2u);
  const auto& nodo = d.listeners[0];
  EXPECT_EQ(nodo.name, "nodo");
  EXPECT_EQ(nodo.address, "0.0.0.0");
  EXPECT_EQ(nodo.port, 8443);
  ASSERT_TRUE(nodo.tls.has_value());
  EXPECT_EQ(nodo.tls->cert_file, (dir_ / "tls/cert.pem").string());
  EXPECT_EQ(nodo.tls->key_file, (dir_ / "tls/key.pem").string());
  EXPECT_EQ(nodo.tls->client_ca_file, (dir_ / "tls/ca.pem").string());
  EXPECT_EQ(nodo.tls->allowed_client_subjects,
            (std::vector<std::string>{"CN=nodo-dei-pagamenti.pagopa.it", "CN=other"}));
  EXPECT_EQ(d.listeners[1].address, "::1");
  EXPECT_FALSE(d.listeners[1].tls.has_value());

  // The user name has a space, so libpq needs it quoted.
  EXPECT_EQ(d.db.conninfo,
            "host=db.example.internal port=5432 dbname=pagohub user='pagohub app' "
            "password=pa55word");
  EXPECT_EQ(d.db.pool_size, 16);
  EXPECT_EQ(d.db.statement_timeout, milliseconds{15000});
  EXPECT_EQ(d.db.connect_timeout, milliseconds{2000});
  EXPECT_FALSE(d.db.migrate_on_start);

  EXPECT_EQ(d.limits.max_body_bytes, 4194304u);
  EXPECT_EQ(d.limits.max_header_bytes, 8192u);
  EXPECT_EQ(d.limits.request_deadline, milliseconds{20000});
  EXPECT_EQ(d.limits.shutdown_grace, milliseconds{5000});
  EXPECT_EQ(d.limits.max_connections, 500u);
  EXPECT_EQ(d.limits.max_connections_per_address, 50u);
  EXPECT_EQ(d.limits.idle_timeout, milliseconds{15000});

  EXPECT_EQ(d.logging.level, "debug");
  EXPECT_EQ(d.logging.format, "json");
  EXPECT_FALSE(d.logging.access_log);

  EXPECT_EQ(d.paths.web_root, "/nonexistent-web-root-for-test");  // missing: a warning only
  EXPECT_EQ(d.paths.sql_dir, (dir_ / "sql").string());
  EXPECT_EQ(d.paths.entities_dir, (dir_ / "entities").string());

  ASSERT_TRUE(cfg.entities);
  ASSERT_EQ(cfg.entities->size(), 2u);
  const entity* e = cfg.entities->find("01234567897");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->name, "Comune di Esempio");
  EXPECT_EQ(e->aux_digit, 3);
  EXPECT_EQ(e->segregation_code, 1);
  EXPECT_EQ(e->application_code, -1);
  EXPECT_EQ(e->station_id, "02468135799_01");  // from [daemon]
  EXPECT_EQ(e->broker_id, "02468135799");
  EXPECT_EQ(e->postal_account, "000012345678");
  EXPECT_TRUE(e->enabled);
  ASSERT_EQ(e->ibans.size(), 2u);
  EXPECT_EQ(e->ibans[0].value.str(), "IT60X0542811101000000123456");  // normalised
  EXPECT_FALSE(e->ibans[0].postal);
  EXPECT_EQ(e->ibans[0].description, "Tesoreria");
  EXPECT_TRUE(e->ibans[1].postal);
  EXPECT_TRUE(e->ibans[1].value.is_postal());
  ASSERT_EQ(e->services.size(), 2u);
  EXPECT_EQ(e->services[0].code, "TARI");
  EXPECT_EQ(e->services[0].taxonomy, "9/0101002IM/");
  EXPECT_EQ(e->services[0].transfer_category(), "0101002IM");
  EXPECT_EQ(e->services[1].taxonomy, "8/0101101SP/");  // a Request-To-Pay prefix
  EXPECT_EQ(
      e->services[0].default_ibans,
      (std::vector<std::string>{"IT60X0542811101000000123456", "IT22L0760101600000012345678"}));
  EXPECT_FALSE(e->services[0].spontaneous);
  EXPECT_TRUE(e->services[1].spontaneous);
  EXPECT_TRUE(e->services[0].expires_after_due_date);
  EXPECT_FALSE(e->services[1].expires_after_due_date);
  EXPECT_EQ(e->find_service("DIRITTI"), &e->services[1]);
  EXPECT_EQ(e->find_service("NOPE"), nullptr);
  EXPECT_EQ(e->find_iban("IT22L0760101600000012345678"), &e->ibans[1]);
  EXPECT_EQ(e->find_iban("IT00"), nullptr);

  const entity* u = cfg.entities->find("80012000826");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(&cfg.entities->all()[1], u);  // inline entities first, then the directory
  EXPECT_EQ(u->aux_digit, 0);
  EXPECT_EQ(u->application_code, 7);
  EXPECT_EQ(u->segregation_code, -1);
  EXPECT_EQ(u->station_id, "01199250158_03");
  EXPECT_EQ(u->broker_id, "01199250158");
  EXPECT_FALSE(u->enabled);
  EXPECT_TRUE(u->ibans.empty());
  EXPECT_EQ(cfg.entities->find("00488410010"), nullptr);
}

TEST_F(load_test, defaults) {
  const config cfg = load_text(doc{}.text());
  const auto& d = cfg.daemon;
  EXPECT_EQ(d.io_threads, 0);
  ASSERT_EQ(d.listeners.size(), 1u);
  EXPECT_EQ(d.listeners[0].address, "127.0.0.1");
  EXPECT_EQ(d.listeners[0].port, 8080);
  EXPECT_FALSE(d.listeners[0].tls.has_value());
  EXPECT_EQ(d.db.conninfo, "host=localhost dbname=pagohub");
  EXPECT_EQ(d.db.pool_size, 8);
  EXPECT_EQ(d.db.statement_timeout, milliseconds{30000});
  EXPECT_EQ(d.db.connect_timeout, milliseconds{5000});
  EXPECT_TRUE(d.db.migrate_on_start);
  EXPECT_EQ(d.limits.max_body_bytes, 1u << 20);
  EXPECT_EQ(d.limits.max_header_bytes, 16384u);
  EXPECT_EQ(d.limits.request_deadline, milliseconds{30000});
  EXPECT_EQ(d.limits.shutdown_grace, milliseconds{10000});
  EXPECT_EQ(d.limits.max_connections, 10000u);
  EXPECT_EQ(d.limits.max_connections_per_address, 0u);
  EXPECT_EQ(d.limits.idle_timeout, milliseconds{60000});
  EXPECT_EQ(d.logging.level, "info");
  EXPECT_EQ(d.logging.format, "text");
  EXPECT_TRUE(d.logging.access_log);
  EXPECT_EQ(d.paths.web_root, (dir_ / "web").string());
  EXPECT_EQ(d.paths.entities_dir, "");
  ASSERT_TRUE(cfg.entities);
  EXPECT_EQ(cfg.entities->size(), 0u);
}

TEST_F(load_test, soap_on_an_open_listener_needs_caller_authentication_or_consent) {
  const std::string open = "[[listener]]\nname = \"pub\"\naddress = \"0.0.0.0\"\nport = 8080\n";
  // A shared secret authenticates the Nodo on any listener.
  auto cfg = load_text(
      doc{.listeners = open, .tail = "[pap]\nshared_secret = \"0123456789abcdef0123\"\n"}.text());
  EXPECT_FALSE(cfg.daemon.pap.allow_unauthenticated);
  // Consent given in words.
  cfg = load_text(doc{.listeners = open, .tail = "[pap]\nallow_unauthenticated = true\n"}.text());
  EXPECT_TRUE(cfg.daemon.pap.allow_unauthenticated);
  // Loopback needs neither.
  cfg = load_text(doc{.listeners = "[[listener]]\nname = \"local\"\naddress = \"::1\"\n"}.text());
  EXPECT_FALSE(cfg.daemon.pap.allow_unauthenticated);
}

TEST_F(load_test, default_paths_resolve_against_the_config_directory) {
  const config cfg = load_text(doc{.paths = ""}.text());
  EXPECT_EQ(cfg.daemon.paths.sql_dir, (dir_ / "sql").string());
  EXPECT_EQ(cfg.daemon.paths.web_root, (dir_ / "web").string());
}

TEST_F(load_test, reload_reads_entities_again) {
  const std::string main_text =
      doc{.paths = "sql_dir = \"sql\"\nentities_dir = \"entities\"\n", .tail = entity_doc{}.text()}
          .text();
  const config cfg = load_text(main_text);
  registry_holder holder(cfg.entities);
  EXPECT_EQ(holder.get()->size(), 2u);

  write(
      "entities/more.toml",
      "[[entity]]\nfiscal_code = \"00488410010\"\nname = \"Comune nuovo\"\nsegregation_code = 9\n");
  holder.set(load_entities(cfg));
  EXPECT_EQ(holder.get()->size(), 3u);
  EXPECT_NE(holder.get()->find("00488410010"), nullptr);

  // A bad file: the reload throws and the holder keeps what it had.
  write("entities/more.toml", "[[entity]]\nfiscal_code = \"00488410011\"\n");
  try {
    holder.set(load_entities(cfg));
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.file, (dir_ / "entities/more.toml").string());
    EXPECT_EQ(e.key, "entity[0].fiscal_code");
  }
  EXPECT_EQ(holder.get()->size(), 3u);

  // Entities removed from the main file disappear on reload.
  std::filesystem::remove(dir_ / "entities/more.toml");
  write("pagohub.toml", doc{.paths = "sql_dir = \"sql\"\nentities_dir = \"entities\"\n"}.text());
  holder.set(load_entities(cfg));
  EXPECT_EQ(holder.get()->size(), 1u);
  EXPECT_EQ(holder.get()->find("01234567897"), nullptr);
}

TEST_F(load_test, registry_holder_swaps_under_readers) {
  auto first = std::make_shared<const entity_registry>();
  registry_holder holder(first);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      const auto snapshot = holder.get();
      ASSERT_TRUE(snapshot);
    }
  });
  for (int i = 0; i < 1000; ++i) holder.set(std::make_shared<const entity_registry>());
  stop = true;
  reader.join();
  EXPECT_NE(holder.get(), first);
}

TEST_F(load_test, registry_rejects_duplicates) {
  const auto code = *core::entity_fiscal_code::parse("01234567897");
  std::vector<entity> two;
  two.push_back(entity{.fiscal_code = code, .name = "a"});
  two.push_back(entity{.fiscal_code = code, .name = "b"});
  EXPECT_THROW(entity_registry{std::move(two)}, std::invalid_argument);
}

// [outbox] retention_days: messages that ended are kept for ever unless it says otherwise.
TEST_F(load_test, outbox_retention) {
  EXPECT_EQ(load_text(doc{}.text()).daemon.outbox.retention_days, 0);
  EXPECT_NE(describe(load_text(doc{}.text()))
                .find("outbox: delivered and dead messages kept for "
                      "ever"),
            std::string::npos);
  doc d;
  d.tail = "[outbox]\nretention_days = 400\n";
  const config cfg = load_text(d.text());
  EXPECT_EQ(cfg.daemon.outbox.retention_days, 400);
  EXPECT_NE(describe(cfg).find("messages kept 400 days"), std::string::npos);
  expect_refused("[outbox]\nretention_days = -1\n", "outbox.retention_days");
  expect_refused("[outbox]\nkeep = 1\n", "outbox.keep");
}

TEST_F(load_test, describe_summarises) {
  const config cfg = load_text(full_config);
  const std::string text = describe(cfg);
  EXPECT_NE(text.find("listener nodo: 0.0.0.0:8443 TLS"), std::string::npos) << text;
  EXPECT_NE(text.find("2 allowed subjects"), std::string::npos) << text;
  EXPECT_NE(text.find("listener local: ::1:8080 plain HTTP"), std::string::npos) << text;
  EXPECT_NE(text.find("01234567897 Comune di Esempio: aux 3, segregation 01"), std::string::npos)
      << text;
  EXPECT_NE(text.find("80012000826 Unione dei Comuni (disabled): aux 0, application 07"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("service DIRITTI 8/0101101SP/ spontaneous"), std::string::npos) << text;
  EXPECT_NE(text.find("password=***"), std::string::npos) << text;
  EXPECT_EQ(text.find("pa55word"), std::string::npos) << text;
}

}  // namespace
}  // namespace pagohub::config::testing
