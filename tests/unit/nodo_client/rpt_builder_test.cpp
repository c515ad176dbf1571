// The RPT the push generates (DIGEST §2.3) conforms to PagInf_RPT_RT_6_2_0.xsd: the embedded
// schema and, when the contract folder is there, the official file itself.
#include <pagohub/nodo/xsd_validator.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/rpt_push/push_service.hpp>
#include <pagohub/rpt_push/rpt_builder.hpp>

#include <support/soap_contract.hpp>

#include <gtest/gtest.h>

namespace pagohub::rpt_push {
namespace {

using namespace std::chrono_literals;

rpt_input sample() {
  rpt_input in;
  in.entity_fc = "01234567897";
  in.entity_name =
      "Comune di Esempio con un nome molto lungo che supera i settanta caratteri ammessi";
  in.station_id = "15376371009_01";
  in.message_id = "0123456789abcdef0123456789abcdef";
  in.created = std::chrono::sys_days{std::chrono::year{2025} / 7 / 1} + 10h;
  in.iuv = "02000000000000123";
  in.ccp = "a1b2c3";
  in.amount = 12050;
  in.payer.fiscal_code = "RSSMRA80A01H501U";
  in.payer.full_name = "Mario Rossi & <figli>";
  in.payer.city = "Roma";
  in.payer.country = "IT";
  in.transfers.push_back(
      {10000, "IT60X0542811101000000123456", "TARI 2025", "9/0101002IM/", {}, {}, {}});
  in.transfers.push_back({2050, "", "Bollo", "9/0101002IM/", "01",
                          "ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNoZmFrZWhhc2g=", "RM"});
  return in;
}

TEST(rpt_builder, output_conforms_to_the_schema) {
  const auto xml = build_rpt_xml(sample());
  auto ok = validate_rpt(xml);
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message) << "\n" << xml;
  if (const auto dir = test_support::pagopa_spec_dir()) {
    auto schema = nodo::xsd_schema::from_file(*dir / "gad" / "xsd" / "PagInf_RPT_RT_6_2_0.xsd");
    auto doc = nodo::xml_document::parse(xml);
    ASSERT_TRUE(doc);
    auto v = schema->validate(*doc);
    EXPECT_TRUE(v) << (v ? "" : v.error().message);
  }
  EXPECT_NE(xml.find("<pay_i:versioneOggetto>6.2.0<"), std::string::npos);
  EXPECT_NE(xml.find("<pay_i:importoTotaleDaVersare>120.50<"), std::string::npos);
  EXPECT_NE(xml.find("<pay_i:codiceContestoPagamento>a1b2c3<"), std::string::npos);
  EXPECT_NE(xml.find("<pay_i:tipoVersamento>PO<"), std::string::npos);
  // Summer time in Rome: UTC+2.
  EXPECT_NE(xml.find("<pay_i:dataOraMessaggioRichiesta>2025-07-01T12:00:00<"), std::string::npos);
  EXPECT_NE(xml.find("Mario Rossi &amp; &lt;figli&gt;"), std::string::npos);
}

TEST(rpt_builder, a_broken_rpt_is_refused_by_the_validator) {
  auto in = sample();
  in.iuv.clear();  // stText35 needs a character at least
  EXPECT_FALSE(validate_rpt(build_rpt_xml(in)));
  in = sample();
  in.transfers.clear();  // 1..5 datiSingoloVersamento
  EXPECT_FALSE(validate_rpt(build_rpt_xml(in)));
  EXPECT_FALSE(validate_rpt("<not-an-rpt/>"));
}

TEST(rpt_builder, rome_time_and_collection_data) {
  using namespace std::chrono;
  EXPECT_EQ(positions::rome_date_time(sys_days{year{2025} / 1 / 15} + 23h + 30min),
            "2025-01-16T00:30:00");
  EXPECT_EQ(positions::rome_date_time(sys_days{year{2025} / 8 / 15} + 8h), "2025-08-15T10:00:00");
  EXPECT_EQ(collection_data_of("9/0101002IM/"), "9/0101002IM/");
  EXPECT_EQ(collection_data_of("0101002IM"), "9/0101002IM");
}

TEST(rpt_push, backoff_doubles_up_to_the_cap) {
  EXPECT_EQ(backoff(1, 5s, 60s), 5s);
  EXPECT_EQ(backoff(2, 5s, 60s), 10s);
  EXPECT_EQ(backoff(4, 5s, 60s), 40s);
  EXPECT_EQ(backoff(5, 5s, 60s), 60s);
  EXPECT_EQ(backoff(50, 5s, 60s), 60s);
}

}  // namespace
}  // namespace pagohub::rpt_push
