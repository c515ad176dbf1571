// [nodo] (docs/config-reference.md): defaults, every key, bad values naming their key and never
// the secret.
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

}  // namespace
}  // namespace pagohub::config::testing
