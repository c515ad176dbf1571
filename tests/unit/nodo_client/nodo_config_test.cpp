// [nodo] (docs/config-reference.md): defaults, every key, bad values naming their key and never
// the secret.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "unit/config/config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

class nodo_config : public config_dir {};

TEST_F(nodo_config, defaults_apply_without_the_section) {
  const auto n = load_text(doc{}.text()).nodo;
  EXPECT_TRUE(n.nodo_per_pa_url.empty());
  EXPECT_TRUE(n.node_for_pa_url.empty());
  EXPECT_TRUE(n.password.empty());
  EXPECT_TRUE(n.rpt_push);
  EXPECT_EQ(n.request_timeout, std::chrono::milliseconds(30'000));
  EXPECT_EQ(n.rpt_max_attempts, 10);
}

TEST_F(nodo_config, every_key_is_read) {
  write("station.password", "  pwd-of-12ch \n");
  write("station.crt", "cert");
  write("station.key", "key");
  write("ca.pem", "ca");
  ::setenv("PAGOHUB_TEST_NODO_KEY", "subscription-key-value", 1);
  doc d;
  d.tail =
      "[nodo]\nnodo_per_pa_url = \"https://nodo.example/nodo-per-pa/v1\"\n"
      "node_for_pa_url = \"http://127.0.0.1:9090/node-for-pa\"\n"
      "avvisi_digitali_url = \"https://nodo.example/avvisi\"\n"
      "ca_file = \"ca.pem\"\ncert_file = \"station.crt\"\nkey_file = \"station.key\"\n"
      "password_file = \"station.password\"\nsubscription_key_env = \"PAGOHUB_TEST_NODO_KEY\"\n"
      "subscription_key_header = \"X-Key\"\nconnect_timeout_ms = 1000\n"
      "request_timeout_ms = 2000\nmax_idle_connections = 2\nmax_response_bytes = 65536\n"
      "rpt_push = false\nrpt_poll_interval_ms = 100\nrpt_max_attempts = 5\n"
      "rpt_retry_base_ms = 200\nrpt_retry_max_ms = 400\n";
  const auto n = load_text(d.text()).nodo;
  EXPECT_EQ(n.nodo_per_pa_url, "https://nodo.example/nodo-per-pa/v1");
  EXPECT_EQ(n.node_for_pa_url, "http://127.0.0.1:9090/node-for-pa");
  EXPECT_EQ(n.avvisi_digitali_url, "https://nodo.example/avvisi");
  EXPECT_EQ(n.cert_file, (dir_ / "station.crt").string());
  EXPECT_EQ(n.key_file, (dir_ / "station.key").string());
  EXPECT_EQ(n.ca_file, (dir_ / "ca.pem").string());
  EXPECT_EQ(n.password, "pwd-of-12ch");
  EXPECT_EQ(n.subscription_key, "subscription-key-value");
  EXPECT_EQ(n.subscription_key_header, "X-Key");
  EXPECT_EQ(n.connect_timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(n.request_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(n.max_idle_connections, 2u);
  EXPECT_EQ(n.max_response_bytes, 65536u);
  EXPECT_FALSE(n.rpt_push);
  EXPECT_EQ(n.rpt_poll_interval, std::chrono::milliseconds(100));
  EXPECT_EQ(n.rpt_max_attempts, 5);
  EXPECT_EQ(n.rpt_retry_base, std::chrono::milliseconds(200));
  EXPECT_EQ(n.rpt_retry_max, std::chrono::milliseconds(400));
  // check-config names where the station calls, never the password or the key.
  const auto text = describe(load_text(d.text()));
  EXPECT_NE(text.find("nodo: NodoPerPa https://nodo.example/nodo-per-pa/v1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("password set, RPT push off"), std::string::npos) << text;
  EXPECT_EQ(text.find("pwd-of-12ch"), std::string::npos) << text;
  EXPECT_EQ(text.find("subscription-key-value"), std::string::npos) << text;
}

TEST_F(nodo_config, bad_values_name_their_key_and_never_the_secret) {
  write("station.crt", "cert");
  const auto fails = [this](const std::string& tail, const std::string& key) {
    if (const auto e = expect_refused(tail, key)) {
      EXPECT_EQ(std::string(e->what()).find("tooshort"), std::string::npos);
    }
  };
  const std::string url = "[nodo]\nnodo_per_pa_url = \"https://nodo.example/v1\"\n";
  fails(url + "password = \"short\"\n", "nodo.password");
  fails(url, "nodo.password");  // required with a URL
  fails("[nodo]\nnodo_per_pa_url = \"ftp://nodo\"\npassword = \"pwd-of-12ch\"\n",
        "nodo.nodo_per_pa_url");
  fails("[nodo]\nnode_for_pa_url = \"https://user:tooshort@nodo\"\npassword = \"pwd-of-12ch\"\n",
        "nodo.node_for_pa_url");
  fails(url + "password = \"pwd-of-12ch\"\ncert_file = \"station.crt\"\n", "nodo.key_file");
  fails(url + "password = \"pwd-of-12ch\"\nrpt_retry_base_ms = 500\nrpt_retry_max_ms = 100\n",
        "nodo.rpt_retry_max_ms");
  fails("[nodo]\nunknown = 1\n", "nodo.unknown");
}

// [[nodo.station]]: each station's own password (pagoPA gives every station one), for the
// entities served by a station other than [daemon]'s.
const std::string nodo_url = "[nodo]\nnodo_per_pa_url = \"https://nodo.example/v1\"\n";

std::string station_entry(const std::string& id, const std::string& password_line) {
  return "[[nodo.station]]\nstation_id = \"" + id + "\"\n" + password_line;
}

// An entity of the demo broker served by its second station.
std::string entity_on(const std::string& station) {
  entity_doc e;
  e.head += "station_id = \"" + station + "\"\n";
  return e.text();
}

TEST_F(nodo_config, station_entries_are_read_from_each_secret_form) {
  write("second.password", "\n second-pwd \n");
  ::setenv("PAGOHUB_TEST_THIRD_PWD", "third-pwd-99", 1);
  doc d;
  d.tail = nodo_url + "password = \"default-pwd\"\n" +
           station_entry("02468135799_02", "password_file = \"second.password\"\n") +
           station_entry("15376371009_03", "password_env = \"PAGOHUB_TEST_THIRD_PWD\"\n") +
           station_entry("02468135799_04", "password = \"fourth-pwd\"\n") +
           entity_on("02468135799_02");
  // The load's warnings, captured.
  std::ostringstream log;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  const auto cfg = load_text(d.text());
  spdlog::set_default_logger(previous);
  const auto& n = cfg.nodo;
  ASSERT_EQ(n.station_passwords.size(), 3u);
  EXPECT_EQ(n.password_for("02468135799_02"), "second-pwd");
  EXPECT_EQ(n.password_for("15376371009_03"), "third-pwd-99");
  EXPECT_EQ(n.password_for("02468135799_04"), "fourth-pwd");
  // Stations without an entry of their own, [daemon]'s among them, take [nodo] password.
  EXPECT_EQ(n.password_for("02468135799_01"), "default-pwd");
  EXPECT_EQ(n.password_for("02468135799_09"), "default-pwd");
  // The entries no entity uses (_03, _04) are allowed, with a warning naming them.
  EXPECT_NE(log.str().find("station 15376371009_03 is neither"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("station 02468135799_04 is neither"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("02468135799_02"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("-pwd"), std::string::npos) << log.str();
  // check-config says, per station, whether a password is set and whose, never the value.
  const auto text = describe(cfg);
  EXPECT_NE(text.find("station 02468135799_01: password set ([nodo])"), std::string::npos) << text;
  EXPECT_NE(text.find("station 02468135799_02: password set (own)"), std::string::npos) << text;
  EXPECT_NE(text.find("station 15376371009_03: password set (own)"), std::string::npos) << text;
  for (const char* secret : {"default-pwd", "second-pwd", "third-pwd-99", "fourth-pwd"})
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
}

TEST_F(nodo_config, every_used_station_with_an_entry_needs_no_nodo_password) {
  doc d;
  d.tail = nodo_url + station_entry("02468135799_01", "password = \"first-pwd\"\n") +
           station_entry("02468135799_02", "password = \"second-pwd\"\n") +
           entity_on("02468135799_02");
  const auto cfg = load_text(d.text());
  EXPECT_TRUE(cfg.nodo.password.empty());
  EXPECT_EQ(cfg.nodo.password_for("02468135799_01"), "first-pwd");
  EXPECT_EQ(cfg.nodo.password_for("02468135799_02"), "second-pwd");
  const auto text = describe(cfg);
  EXPECT_NE(text.find("password unset, RPT push on"), std::string::npos) << text;
  EXPECT_NE(text.find("station 02468135799_01: password set (own)"), std::string::npos) << text;
}

TEST_F(nodo_config, bad_station_entries_name_their_key_and_never_the_secret) {
  write("empty.password", "  \n");
  const auto fails = [this](const std::string& tail, const std::string& key,
                            const std::string& reason) {
    if (const auto e = expect_refused(tail, key)) {
      EXPECT_NE(e->reason.find(reason), std::string::npos) << e->what();
      for (const char* secret : {"second-pwd", "other-pwd", "shortpw", "longer-than-15ch"})
        EXPECT_EQ(std::string(e->what()).find(secret), std::string::npos) << e->what();
    }
  };
  const std::string base = nodo_url + "password = \"default-pwd\"\n";
  fails(base + station_entry("02468135799_02", "password = \"second-pwd\"\n") +
            station_entry("02468135799_02", "password = \"other-pwd\"\n"),
        "nodo.station[1].station_id", "duplicate station, already listed as nodo.station[0]");
  fails(base + station_entry("02468135799-02", "password = \"second-pwd\"\n"),
        "nodo.station[0].station_id", "two digits");
  fails(base + station_entry("0246813579_02", "password = \"second-pwd\"\n"),
        "nodo.station[0].station_id", "two digits");
  fails(base + "[[nodo.station]]\npassword = \"second-pwd\"\n", "nodo.station[0].station_id",
        "is required");
  fails(base + station_entry("02468135799_02", "password = \"shortpw\"\n"),
        "nodo.station[0].password", "8 to 15");
  fails(base + station_entry("02468135799_02", "password = \"longer-than-15ch\"\n"),
        "nodo.station[0].password", "8 to 15");
  fails(base + station_entry("02468135799_02", ""), "nodo.station[0].password", "is required");
  fails(base + station_entry("02468135799_02", "password_file = \"empty.password\"\n"),
        "nodo.station[0].password_file", "is empty");
  fails(base + station_entry("02468135799_02", "password = \"second-pwd\"\npassword_env = \"X\"\n"),
        "nodo.station[0].password", "only one");
  fails(base + station_entry("02468135799_02", "password = \"second-pwd\"\nurl = \"x\"\n"),
        "nodo.station[0].url", "unknown key");
  fails(base + "[nodo.station]\nstation_id = \"02468135799_02\"\n", "nodo.station",
        "array of tables");
}

TEST_F(nodo_config, a_used_station_without_a_password_is_refused_naming_it) {
  // An entity on a station with neither an entry nor [nodo] password: refused at the entity.
  if (const auto e =
          expect_refused(nodo_url + station_entry("02468135799_01", "password = \"first-pwd\"\n") +
                             entity_on("02468135799_02"),
                         "entity[0].station_id")) {
    EXPECT_NE(e->reason.find("station 02468135799_02 has no password"), std::string::npos)
        << e->what();
  }
  // [daemon]'s station likewise, at [nodo] password.
  if (const auto e =
          expect_refused(nodo_url + station_entry("02468135799_02", "password = \"second-pwd\"\n"),
                         "nodo.password")) {
    EXPECT_NE(e->reason.find("02468135799_01"), std::string::npos) << e->what();
  }
  // Without an old-model URL nothing is sent, so nothing is required.
  doc d;
  d.tail = "[nodo]\n" + station_entry("02468135799_01", "password = \"first-pwd\"\n") +
           entity_on("02468135799_02");
  EXPECT_NO_THROW((void)load_text(d.text()));
}

TEST_F(nodo_config, a_reload_bringing_an_entity_on_a_station_without_a_password_is_refused) {
  doc d;
  d.paths = "sql_dir = \"sql\"\nweb_root = \"web\"\nentities_dir = \"entities\"\n";
  d.tail = nodo_url + station_entry("02468135799_01", "password = \"first-pwd\"\n") +
           station_entry("02468135799_02", "password = \"second-pwd\"\n");
  write("entities/a.toml", entity_on("02468135799_02"));
  const auto cfg = load_text(d.text());
  ASSERT_NE(cfg.entities->find("01234567897"), nullptr);

  entity_doc other;
  other.head =
      "fiscal_code = \"00488410010\"\nname = \"Comune nuovo\"\nsegregation_code = 9\n"
      "station_id = \"02468135799_03\"\n";
  write("entities/b.toml", other.text());
  try {
    (void)load_entities(cfg);
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.file, (dir_ / "entities/b.toml").string());
    EXPECT_EQ(e.key, "entity[0].station_id");
    EXPECT_NE(e.reason.find("station 02468135799_03 has no password"), std::string::npos)
        << e.what();
  }
  // On a station with an entry it is taken.
  other.head =
      "fiscal_code = \"00488410010\"\nname = \"Comune nuovo\"\nsegregation_code = 9\n"
      "station_id = \"02468135799_02\"\n";
  write("entities/b.toml", other.text());
  const auto fresh = load_entities(cfg);
  ASSERT_NE(fresh->find("00488410010"), nullptr);
  EXPECT_EQ(fresh->find("00488410010")->station_id, "02468135799_02");
}

}  // namespace
}  // namespace pagohub::config::testing
