// The Nodo client against nodo-sim's server mode over loopback: every primitive it implements,
// faults, delays past the deadline, an unreachable Nodo; every request checked by nodo-sim
// against the official contract.
#include <pagohub/nodo_client/client.hpp>

#include <support/soap_contract.hpp>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "nodo_server.hpp"

namespace pagohub::test {
namespace {

using json = nlohmann::json;
namespace asio = boost::asio;

class nodo_client_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    nodo_sim::server_options so;
    if (const auto dir = test_support::pagopa_spec_dir()) so.contract_dir = *dir;
    sim_ = std::make_unique<nodo_sim::nodo_server>(json{{"operations", json::object()}}, so);
    port_ = sim_->start();
  }

  config::nodo_settings settings() const {
    config::nodo_settings s;
    s.nodo_per_pa_url = "http://127.0.0.1:" + std::to_string(port_) + "/nodo/NodoPerPa";
    s.node_for_pa_url = "http://127.0.0.1:" + std::to_string(port_) + "/nodo/nodeForPa";
    s.password = "stationPwd1";
    s.request_timeout = std::chrono::milliseconds(2000);
    return s;
  }

  /// Runs `call(client)` to completion on a private io_context.
  template <class F>
  auto run(F call, config::nodo_settings s) {
    asio::io_context ioc;
    nodo_client::client c(ioc.get_executor(), std::move(s),
                          {"15376371009", "15376371009_01", "stationPwd1"});
    auto fut = asio::co_spawn(ioc, call(c), asio::use_future);
    ioc.run();
    return fut.get();
  }
  template <class F>
  auto run(F call) {
    return run(std::move(call), settings());
  }

  void expect_all_valid() {
    for (const auto& r : sim_->requests()) {
      if (r.valid) {
        EXPECT_TRUE(*r.valid) << r.operation << ": " << r.problem << "\n" << r.body;
      }
      EXPECT_EQ(r.fields.value("password", ""), "stationPwd1");
    }
  }

  std::unique_ptr<nodo_sim::nodo_server> sim_;
  unsigned short port_ = 0;
};

TEST_F(nodo_client_e2e, reporting_flows_list_and_fetch) {
  sim_->set_script(json::parse(R"({"operations": {
    "nodoChiediElencoFlussiRendicontazione": {"flows": [
      {"id": "2025-01-10BCITITMM-0001", "date_time": "2025-01-10T08:00:00"},
      {"id": "2025-01-11BCITITMM-0002", "date_time": "2025-01-11T08:00:00"}]},
    "nodoChiediFlussoRendicontazione": {"flows": {"2025-01-10BCITITMM-0001": "<FlussoRiversamento/>"}}
  }})"));
  auto list = run([](nodo_client::client& c) {
    return c.chiedi_elenco_flussi({std::string("01234567897"), std::nullopt});
  });
  ASSERT_TRUE(list.value) << list.value.error().message;
  EXPECT_EQ(list.trace.http_status, 200u);
  ASSERT_EQ(list.value->flows.size(), 2u);
  EXPECT_EQ(list.value->flows[0].flow_id, "2025-01-10BCITITMM-0001");

  auto flow = run([](nodo_client::client& c) {
    return c.chiedi_flusso({std::string("01234567897"), std::nullopt, "2025-01-10BCITITMM-0001"});
  });
  ASSERT_TRUE(flow.value) << flow.value.error().message;
  EXPECT_EQ(flow.value->flow_xml.value_or(""), "<FlussoRiversamento/>");

  auto unknown = run([](nodo_client::client& c) {
    return c.chiedi_flusso({std::string("01234567897"), std::nullopt, "nope"});
  });
  ASSERT_TRUE(unknown.value);
  ASSERT_TRUE(unknown.value->fault);
  EXPECT_EQ(unknown.value->fault->code, "PPT_ID_FLUSSO_SCONOSCIUTO");

  ASSERT_EQ(sim_->requests().size(), 3u);
  EXPECT_EQ(sim_->requests()[0].path, "/nodo/nodeForPa");
  EXPECT_EQ(sim_->requests()[1].key, "2025-01-10BCITITMM-0001");
  expect_all_valid();
}

TEST_F(nodo_client_e2e, copia_rt_and_storno) {
  sim_->set_script(json::parse(R"({"operations": {
    "nodoChiediCopiaRT": {"by_key": {"123/ccp": {"rt": "<RT/>"}}},
    "nodoInviaRichiestaStorno": {"faults": ["PPT_OPER_NON_STORNABILE"]}
  }})"));
  auto rt = run([](nodo_client::client& c) {
    return c.chiedi_copia_rt({"01234567897", "123", "ccp"});
  });
  ASSERT_TRUE(rt.value) << rt.value.error().message;
  EXPECT_EQ(rt.value->rt_xml.value_or(""), "<RT/>");
  auto none = run([](nodo_client::client& c) {
    return c.chiedi_copia_rt({"01234567897", "999", "ccp"});
  });
  ASSERT_TRUE(none.value);
  EXPECT_EQ(none.value->fault ? none.value->fault->code : "", "PPT_RT_SCONOSCIUTA");

  auto first = run([](nodo_client::client& c) {
    return c.invia_richiesta_storno({"01234567897", "123", "ccp", "<RR/>"});
  });
  ASSERT_TRUE(first.value);
  EXPECT_EQ(first.value->esito, "KO");
  EXPECT_EQ(first.value->fault ? first.value->fault->code : "", "PPT_OPER_NON_STORNABILE");
  auto second = run([](nodo_client::client& c) {
    return c.invia_richiesta_storno({"01234567897", "123", "ccp", "<RR/>"});
  });
  ASSERT_TRUE(second.value);
  EXPECT_EQ(second.value->esito, "OK");
  expect_all_valid();
}

TEST_F(nodo_client_e2e, deadlines_unreachable_and_unconfigured) {
  sim_->set_script(json::parse(R"({"operations": {"nodoInviaRPT": {"delay_ms": 1500}}})"));
  auto s = settings();
  s.request_timeout = std::chrono::milliseconds(300);
  auto slow = run(
      [](nodo_client::client& c) {
        return c.invia_rpt(
            {"01234567897", "123", "ccp", "BCITITMM", "00799960158", "00799960158_01", "<RPT/>"});
      },
      s);
  ASSERT_FALSE(slow.value);
  EXPECT_EQ(slow.value.error().code, core::errc::timeout);
  EXPECT_FALSE(slow.trace.http_status);
  EXPECT_FALSE(slow.trace.request_body.empty());

  sim_->stop();
  auto down = run([](nodo_client::client& c) {
    return c.invia_rpt(
        {"01234567897", "123", "ccp", "BCITITMM", "00799960158", "00799960158_01", "<RPT/>"});
  });
  ASSERT_FALSE(down.value);
  EXPECT_EQ(down.value.error().code, core::errc::unavailable);

  auto none = settings();
  none.node_for_pa_url.clear();
  auto unconfigured = run([](nodo_client::client& c) { return c.chiedi_elenco_flussi({}); }, none);
  ASSERT_FALSE(unconfigured.value);
  EXPECT_NE(unconfigured.value.error().message.find("not configured"), std::string::npos);
}

TEST_F(nodo_client_e2e, http_errors_without_a_soap_body_are_errors) {
  sim_->set_script(json::parse(R"({"operations": {"nodoInviaRPT": {"http_status": 503}}})"));
  auto r = run([](nodo_client::client& c) {
    return c.invia_rpt(
        {"01234567897", "123", "ccp", "BCITITMM", "00799960158", "00799960158_01", "<RPT/>"});
  });
  ASSERT_FALSE(r.value);
  EXPECT_EQ(r.trace.http_status, 503u);
  EXPECT_NE(r.value.error().message.find("HTTP 503"), std::string::npos);
}

}  // namespace
}  // namespace pagohub::test
