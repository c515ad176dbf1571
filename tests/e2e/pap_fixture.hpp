#pragma once
// The SOAP endpoints through the real daemon, spoken to as nodo-sim speaks (its client library):
// positions are made directly with the positions store, every request and response the tests
// see is validated against the official XSDs (support/soap_contract.hpp).
#include <pagohub/api/api_key.hpp>
#include <pagohub/config/config.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/store.hpp>

#include <support/eventually.hpp>
#include <support/pg_database.hpp>
#include <support/soap_contract.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "nodo_client.hpp"

namespace pagohub::test {

/// The demo entity, and one the station does not serve (it is configured with another station).
inline const std::string pap_entity = "01234567897";
inline const std::string other_station_entity = "80012000826";

class pap_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test_support::pg_available()) GTEST_SKIP() << test_support::pg_unavailable_reason();
    db_ = std::make_unique<test_support::test_database>();
    start_daemon(extra_toml());
  }

  void TearDown() override { daemon_.reset(); }

  virtual std::string extra_toml() const {
    // The back-office application owning the positions the tests make (make_position), to
    // read their receipts over REST.
    return "[[application]]\nid = \"tests\"\nname = \"tests\"\nentities = [\"" + pap_entity +
           "\"]\napi_key_hashes = [\"" + key_.hash_line + "\"]\n\n" +
           "[[entity]]\nfiscal_code = \"" + other_station_entity +
           "\"\nname = \"Comune di Altrove\"\nsegregation_code = 2\n"
           "station_id = \"15376371009_02\"\n"
           "[[entity.iban]]\niban = \"IT60X0542811101000000123456\"\n"
           "[[entity.service]]\ncode = \"TARI\"\ndescription = \"TARI\"\n"
           "taxonomy = \"9/0101002IM/\"\ndefault_ibans = [\"IT60X0542811101000000123456\"]\n";
  }

  void start_daemon(const std::string& toml) {
    daemon_options o;
    o.conninfo = db_->conninfo();
    o.max_body_bytes = 16 << 20;  // larger than [pap] max_body_bytes: that limit is tested
    o.extra_toml = toml;
    daemon_ = std::make_unique<daemon_process>(o);
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    ASSERT_EQ(poll_status(daemon_->port(), "/readyz", 200, std::chrono::seconds(30)), 200u)
        << daemon_->log();
    cfg_ = std::make_unique<config::config>(config::load(daemon_->config_file()));
    link_ = std::make_unique<nodo_sim::connection>(url());
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(daemon_->port()); }

  /// A published (VALID) single-option position of the demo entity's TARI service; returns its
  /// notice number. `transfers` splits the amount among that many transfers (1..5); `shape`,
  /// when given, changes the option before it is stored; `as`, when given, stores it as that
  /// entity's settings say instead of the daemon's (another notice space, say).
  std::string make_position(long long cents = 12000, int transfers = 1,
                            const std::function<void(positions::payment_option&)>& shape = {},
                            const std::string& entity_fc = pap_entity,
                            const config::entity* as = nullptr) {
    const config::entity& e = as != nullptr ? *as : *cfg_->entities->find(entity_fc);
    positions::position p;
    p.external_id = "pos-" + std::to_string(++made_);
    p.payer.type = positions::debtor_type::person;
    p.payer.fiscal_code = "RSSMRA80A01H501U";
    p.payer.full_name = "Mario Rossi";
    p.description = "TARI 2025";
    p.service_code = "TARI";
    p.reference_year = 2025;
    positions::payment_option o;
    o.amount = cents;
    o.due_date = positions::rome_date(std::chrono::system_clock::now()) + std::chrono::years{1};
    o.description = "Rata unica";
    for (int i = 1; i <= transfers; ++i) {
      positions::transfer t;
      t.index = i;
      t.amount = cents / transfers + (i == 1 ? cents % transfers : 0);
      t.remittance_information = "TARI quota " + std::to_string(i);
      if (i == 2) t.postal_iban = "IT22L0760101600000012345678";
      // The first transfer is booked on two chapters (the receipt carries them, issue 6).
      if (i == 1 && t.amount >= 2) {
        t.accounting.push_back({"1010", "2", 2025, "A-77", t.amount - t.amount / 2});
        t.accounting.push_back({"1020", "", 2025, "", t.amount / 2});
      }
      o.transfers.push_back(t);
    }
    if (shape) shape(o);
    p.options.push_back(o);
    pqxx::connection c(db_->conninfo());
    pqxx::work w(c);
    const positions::actor by{"application", "tests"};
    const auto now = std::chrono::system_clock::now();
    auto stored = positions::upsert(w, e, "tests", p, by, now);
    EXPECT_TRUE(stored) << stored.error().message << " " << stored.error().path;
    auto published = positions::publish(w, entity_fc, "tests", p.external_id, by, now);
    EXPECT_TRUE(published) << published.error().message;
    w.commit();
    return published->options.front().notice_number;
  }

  /// Runs `sql` and returns the first column of the first row as text ("" for none / NULL).
  std::string scalar(const std::string& sql) const {
    pqxx::connection c(db_->conninfo());
    pqxx::nontransaction w(c);
    const auto r = w.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string{} : r[0][0].as<std::string>();
  }
  long long count(const std::string& sql) const { return std::stoll(scalar(sql)); }
  /// The count of `sql` once it reaches `want`, or when 10 s have passed: for rows written
  /// after the answer (the journal writer's queued INTERFACCIA events).
  long long count_reaching(const std::string& sql, long long want) const {
    test_support::eventually([&] { return count(sql) >= want; }, std::chrono::seconds(10));
    return count(sql);
  }

  /// Sends a request the contract allows (checked), to `path`; the answer is checked too.
  nodo_sim::answer call(const std::string& envelope, const std::vector<std::string>& wanted = {},
                        const char* path = nodo_sim::current_model_path) {
    PAGOHUB_EXPECT_CONFORMS(envelope);
    auto a = link_->post(path, envelope, wanted);
    PAGOHUB_EXPECT_CONFORMS(a.body);
    return a;
  }

  /// Sends a request the contract does not allow (not checked); the answer is checked.
  nodo_sim::answer call_raw(const std::string& envelope, std::string action = {},
                            const char* path = nodo_sim::current_model_path,
                            const std::map<std::string, std::string>& headers = {}) {
    auto a = link_->post(path, envelope, {}, std::move(action), headers);
    if (a.http_status == 200 || a.http_status == 500 || a.http_status == 403)
      PAGOHUB_EXPECT_CONFORMS(a.body);
    return a;
  }

  /// The notice's getPayment data, then its receipt (not sent).
  nodo_sim::receipt_spec receipt_of(const std::string& notice, bool v2 = true) {
    const auto g = call(nodo_sim::get_payment_xml(id_, notice, v2));
    EXPECT_EQ(g.outcome, "OK") << g.body;
    const auto info = nodo_sim::read_payment(g);
    EXPECT_TRUE(info.has_value());
    return nodo_sim::receipt_for(id_, notice, info.value_or(nodo_sim::payment_info{}), v2);
  }

  /// Pays a fresh position (make_position) with a receipt the daemon accepts; returns its id.
  std::string pay() {
    const auto notice = make_position();
    auto r = receipt_of(notice);
    const auto s = call(nodo_sim::send_rt_xml(id_, r));
    EXPECT_EQ(s.outcome, "OK") << s.body;
    return r.receipt_id;
  }

  std::unique_ptr<test_support::test_database> db_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<config::config> cfg_;
  std::unique_ptr<nodo_sim::connection> link_;
  nodo_sim::identity id_;
  api::new_api_key key_ = api::generate_api_key();
  int made_ = 0;
};

}  // namespace pagohub::test
