// [pap] and the payment-on-demand keys of [[entity.service]] (docs/config-reference.md).
#include "config_fixture.hpp"

namespace pagohub::config::testing {
namespace {

class pap_config : public config_dir {};

TEST_F(pap_config, defaults_apply_without_the_section) {
  const auto p = load_text(doc{}.text()).daemon.pap;
  EXPECT_TRUE(p.allowed_client_subjects.empty());
  EXPECT_TRUE(p.shared_secret.empty());
  EXPECT_EQ(p.shared_secret_header, "Ocp-Apim-Subscription-Key");
  EXPECT_FALSE(p.duplicate_receipt_fault);
  EXPECT_EQ(p.max_body_bytes, std::size_t{1} << 20);
  EXPECT_EQ(p.max_depth, 32u);
  EXPECT_EQ(p.demand_due_days, 30);
  EXPECT_EQ(p.rpt_lock_minutes, 30);
  EXPECT_EQ(p.connections, 4);
}

TEST_F(pap_config, every_key_is_read) {
  write("nodo.key", "  a-shared-secret-of-24-chars \n");
  doc d;
  d.tail =
      "[pap]\nallowed_client_subjects = [\"CN=nodo,C=IT\"]\nshared_secret_file = \"nodo.key\"\n"
      "shared_secret_header = \"X-Nodo-Key\"\nduplicate_receipt = \"fault\"\n"
      "max_body_bytes = 65536\nmax_depth = 20\ndemand_due_days = 10\nrpt_lock_minutes = 0\n"
      "connections = 12\n";
  const auto p = load_text(d.text()).daemon.pap;
  EXPECT_EQ(p.allowed_client_subjects, std::vector<std::string>{"CN=nodo,C=IT"});
  EXPECT_EQ(p.shared_secret, "a-shared-secret-of-24-chars");
  EXPECT_EQ(p.shared_secret_header, "X-Nodo-Key");
  EXPECT_TRUE(p.duplicate_receipt_fault);
  EXPECT_EQ(p.max_body_bytes, 65536u);
  EXPECT_EQ(p.max_depth, 20u);
  EXPECT_EQ(p.demand_due_days, 10);
  EXPECT_EQ(p.rpt_lock_minutes, 0);
  EXPECT_EQ(p.connections, 12);
}

TEST_F(pap_config, bad_values_name_their_key_and_never_the_secret) {
  const auto fails = [this](const std::string& tail, const std::string& key) {
    if (const auto e = expect_refused(tail, key)) {
      EXPECT_EQ(std::string(e->what()).find("short-one"), std::string::npos);
    }
  };
  fails("[pap]\nshared_secret = \"short-one\"\n", "pap.shared_secret");
  fails("[pap]\nduplicate_receipt = \"maybe\"\n", "pap.duplicate_receipt");
  fails("[pap]\nmax_depth = 2\n", "pap.max_depth");
  fails("[pap]\nrpt_lock_minutes = 1441\n", "pap.rpt_lock_minutes");
  fails("[pap]\nconnections = 0\n", "pap.connections");
  fails("[pap]\nshared_secret_header = \"bad header\"\n", "pap.shared_secret_header");
  fails("[pap]\nunknown = 1\n", "pap.unknown");
}

TEST_F(pap_config, services_paid_on_demand) {
  write("service.xsd", "<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"/>");
  entity_doc e;
  e.services +=
      "[[entity.service]]\ncode = \"PESCA\"\ndescription = \"Pesca\"\ntaxonomy = \"9/0101108TS/\"\n"
      "default_ibans = [\"IT60X0542811101000000123456\"]\nspontaneous = true\n"
      "catalog_id = \"00847\"\ndemand_schema = \"service.xsd\"\ndemand_amount = 3400\n";
  doc d;
  d.tail = e.text();
  const auto cfg = load_text(d.text());
  const service* s = cfg.entities->find("01234567897")->find_service("PESCA");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->catalog_id, "00847");
  EXPECT_EQ(s->demand_amount, 3400);
  EXPECT_TRUE(s->demand_schema.ends_with("service.xsd"));

  entity_doc not_spontaneous = e;
  not_spontaneous.services.replace(not_spontaneous.services.find("spontaneous = true"), 18,
                                   "spontaneous = false");
  d.tail = not_spontaneous.text();
  auto err = error_of(d.text());
  ASSERT_TRUE(err);
  EXPECT_EQ(err->key, "entity[0].service[1].demand_schema");

  entity_doc missing = e;
  missing.services.replace(missing.services.find("demand_amount = 3400\n"), 21, "");
  d.tail = missing.text();
  err = error_of(d.text());
  ASSERT_TRUE(err);
  EXPECT_EQ(err->key, "entity[0].service[1].demand_amount");

  // paDemandPaymentNotice names the service by its catalogue id: one id, one service.
  entity_doc twice = e;
  twice.services +=
      "[[entity.service]]\ncode = \"PESCA2\"\ndescription = \"Pesca\"\n"
      "taxonomy = \"9/0101108TS/\"\ndefault_ibans = [\"IT60X0542811101000000123456\"]\n"
      "spontaneous = true\ncatalog_id = \"00847\"\ndemand_schema = \"service.xsd\"\n"
      "demand_amount = 3400\n";
  d.tail = twice.text();
  err = error_of(d.text());
  ASSERT_TRUE(err);
  EXPECT_EQ(err->key, "entity[0].service[2].catalog_id");
  EXPECT_NE(err->reason.find("service PESCA"), std::string::npos) << err->reason;
}

}  // namespace
}  // namespace pagohub::config::testing
