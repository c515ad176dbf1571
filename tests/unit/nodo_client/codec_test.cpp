// The PA->Nodo envelopes (DIGEST §2.2, §1.5) against the official contract, the credentials
// they carry for each station, and the reading of the Nodo's answers: esito, faultBean fields,
// SOAP Faults, garbage.
#include <pagohub/nodo/xsd_validator.hpp>
#include <pagohub/nodo_client/client.hpp>
#include <pagohub/nodo_client/codec.hpp>

#include <support/soap_contract.hpp>

#include <gtest/gtest.h>

namespace pagohub::nodo_client {
namespace {

const station_credentials who{"15376371009", "15376371009_01", "s3cretPwd"};

std::string answer(const std::string& body) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>)"
         R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" )"
         R"(xmlns:ppt="http://ws.pagamenti.telematici.gov/"><soapenv:Body>)" +
         body + "</soapenv:Body></soapenv:Envelope>";
}

TEST(nodo_codec, invia_rpt_envelope_conforms_and_carries_the_rpt) {
  const std::string rpt = "<pay_i:RPT xmlns:pay_i=\"x\">caf\xc3\xa8 & co</pay_i:RPT>";
  const auto xml = encode(who, invia_rpt_request{"01234567897", "02000000000000123", "ccp-1",
                                                 "BCITITMM", "00799960158", "00799960158_01", rpt});
  ASSERT_FALSE(xml.empty());
  PAGOHUB_EXPECT_CONFORMS(xml);
  EXPECT_NE(xml.find("<identificativoUnivocoVersamento>02000000000000123<"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<identificativoCanale>00799960158_01<"), std::string::npos);
  const auto from = xml.find("<rpt>") + 5;
  const auto b64 = xml.substr(from, xml.find("</rpt>") - from);
  EXPECT_EQ(nodo::base64_decode(b64).value_or(""), rpt);
}

TEST(nodo_codec, other_envelopes_conform) {
  PAGOHUB_EXPECT_CONFORMS(encode(who, chiedi_copia_rt_request{"01234567897", "123", "ccp"}));
  PAGOHUB_EXPECT_CONFORMS(
      encode(who, invia_richiesta_storno_request{"01234567897", "123", "ccp", "<RR/>"}));
  PAGOHUB_EXPECT_CONFORMS(encode(who, elenco_flussi_request{"01234567897", std::nullopt}));
  PAGOHUB_EXPECT_CONFORMS(
      encode(who, flusso_request{"01234567897", std::nullopt, "2025-01-01BCITITMM-0001"}));
}

TEST(nodo_codec, reads_an_ok_answer) {
  auto r = decode_invia_rpt(
      answer("<ppt:nodoInviaRPTRisposta><esito>OK</esito></ppt:nodoInviaRPTRisposta>"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->esito, "OK");
  EXPECT_FALSE(r->fault);
}

TEST(nodo_codec, reads_every_fault_bean_field) {
  auto r = decode_invia_rpt(
      answer("<ppt:nodoInviaRPTRisposta><fault><faultCode>PPT_CANALE_ERRORE</faultCode>"
             "<faultString>Errore dal canale</faultString><id>BCITITMM</id>"
             "<description>the PSP said no</description><serial>2</serial>"
             "<originalFaultCode>CANALE_RPT_RIFIUTATA</originalFaultCode>"
             "<originalFaultString>rifiutata</originalFaultString>"
             "<originalDescription>iban</originalDescription></fault><esito>KO</esito>"
             "</ppt:nodoInviaRPTRisposta>"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->esito, "KO");
  ASSERT_TRUE(r->fault);
  EXPECT_EQ(r->fault->code, "PPT_CANALE_ERRORE");
  EXPECT_EQ(r->fault->text, "Errore dal canale");
  EXPECT_EQ(r->fault->id, "BCITITMM");
  EXPECT_EQ(r->fault->description, "the PSP said no");
  EXPECT_EQ(r->fault->serial, 2);
  EXPECT_EQ(r->fault->original_code, "CANALE_RPT_RIFIUTATA");
  EXPECT_EQ(r->fault->original_text, "rifiutata");
  EXPECT_EQ(r->fault->original_description, "iban");
}

TEST(nodo_codec, soap_faults_and_garbage_are_errors) {
  auto f = decode_invia_rpt(
      "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode>"
      "<faultstring>bad request</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, core::errc::unavailable);
  EXPECT_NE(f.error().message.find("bad request"), std::string::npos);

  EXPECT_EQ(decode_invia_rpt("not xml").error().code, core::errc::invalid_input);
  // Another operation's answer.
  EXPECT_EQ(decode_invia_rpt(answer("<ppt:nodoChiediCopiaRTRisposta/>")).error().code,
            core::errc::invalid_input);
  // esito is required.
  EXPECT_FALSE(decode_invia_rpt(answer("<ppt:nodoInviaRPTRisposta/>")));
  // No entity tricks (DIGEST §0 and xml_guard).
  EXPECT_FALSE(decode_invia_rpt("<!DOCTYPE x [<!ENTITY a \"b\">]>" +
                                answer("<ppt:nodoInviaRPTRisposta><esito>OK</esito>"
                                       "</ppt:nodoInviaRPTRisposta>")));
}

TEST(nodo_codec, reads_reporting_flow_answers) {
  auto list = decode_elenco_flussi(
      answer("<ppt:nodoChiediElencoFlussiRendicontazioneRisposta><elencoFlussiRendicontazione>"
             "<totRestituiti>2</totRestituiti>"
             "<idRendicontazione><identificativoFlusso>F1</identificativoFlusso>"
             "<dataOraFlusso>2025-01-01T10:00:00</dataOraFlusso></idRendicontazione>"
             "<idRendicontazione><identificativoFlusso>F2</identificativoFlusso>"
             "<dataOraFlusso>2025-01-02T10:00:00</dataOraFlusso></idRendicontazione>"
             "</elencoFlussiRendicontazione></ppt:nodoChiediElencoFlussiRendicontazioneRisposta>"));
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->total, 2);
  ASSERT_EQ(list->flows.size(), 2u);
  EXPECT_EQ(list->flows[1].flow_id, "F2");

  auto flow =
      decode_flusso(answer("<ppt:nodoChiediFlussoRendicontazioneRisposta><xmlRendicontazione>" +
                           nodo::base64_encode("<FlussoRiversamento/>") +
                           "</xmlRendicontazione></ppt:nodoChiediFlussoRendicontazioneRisposta>"));
  ASSERT_TRUE(flow) << flow.error().message;
  EXPECT_EQ(flow->flow_xml.value_or(""), "<FlussoRiversamento/>");

  auto unknown = decode_flusso(answer(
      "<ppt:nodoChiediFlussoRendicontazioneRisposta><fault><faultCode>PPT_ID_FLUSSO_SCONOSCIUTO"
      "</faultCode><faultString>x</faultString><id>NodoDeiPagamentiSPC</id></fault>"
      "</ppt:nodoChiediFlussoRendicontazioneRisposta>"));
  ASSERT_TRUE(unknown);
  ASSERT_TRUE(unknown->fault);
  EXPECT_EQ(unknown->fault->code, "PPT_ID_FLUSSO_SCONOSCIUTO");
  EXPECT_FALSE(unknown->flow_xml);
}

TEST(nodo_codec, reads_copia_rt_and_storno_answers) {
  auto rt = decode_chiedi_copia_rt(
      answer("<ppt:nodoChiediCopiaRTRisposta><tipoFirma></tipoFirma>"
             "<rt>" +
             nodo::base64_encode("<RT/>") + "</rt></ppt:nodoChiediCopiaRTRisposta>"));
  ASSERT_TRUE(rt) << rt.error().message;
  EXPECT_EQ(rt->rt_xml.value_or(""), "<RT/>");
  auto storno =
      decode_invia_richiesta_storno(answer("<ppt:nodoInviaRichiestaStornoRisposta><esito>OK</esito>"
                                           "</ppt:nodoInviaRichiestaStornoRisposta>"));
  ASSERT_TRUE(storno) << storno.error().message;
  EXPECT_EQ(storno->esito, "OK");
}

// The settings of a broker with three stations: _01 ([daemon]'s, the client's own) and _03 on
// [nodo] password, _02 with an entry of its own.
config::nodo_settings three_stations() {
  config::nodo_settings s;
  s.password = "s3cretPwd";
  s.station_passwords.emplace("15376371009_02", "second-Pwd2");
  return s;
}

TEST(nodo_credentials, a_request_naming_no_station_goes_under_the_clients_own) {
  const auto c = credentials_for(three_stations(), who, {}, {});
  EXPECT_EQ(c.station_id, "15376371009_01");
  EXPECT_EQ(c.broker_id, "15376371009");
  EXPECT_EQ(c.password, "s3cretPwd");
  // Naming the client's own station changes nothing.
  EXPECT_EQ(credentials_for(three_stations(), who, "15376371009_01", {}).password, "s3cretPwd");
}

TEST(nodo_credentials, another_station_sends_its_own_password_else_the_nodo_one) {
  const auto second = credentials_for(three_stations(), who, "15376371009_02", {});
  EXPECT_EQ(second.station_id, "15376371009_02");
  EXPECT_EQ(second.broker_id, "15376371009");
  EXPECT_EQ(second.password, "second-Pwd2");
  const auto third = credentials_for(three_stations(), who, "15376371009_03", {});
  EXPECT_EQ(third.station_id, "15376371009_03");
  EXPECT_EQ(third.password, "s3cretPwd");
  // A station of another broker: both named, the entry looked up by the station.
  auto s = three_stations();
  s.station_passwords.emplace("80012000826_01", "other-broker");
  const auto other = credentials_for(s, who, "80012000826_01", "80012000826");
  EXPECT_EQ(other.broker_id, "80012000826");
  EXPECT_EQ(other.password, "other-broker");
}

TEST(nodo_credentials, the_client_station_with_an_entry_of_its_own_keeps_the_password_given) {
  // The daemon builds the client's credentials with password_for([daemon] station_id).
  auto s = three_stations();
  s.station_passwords.emplace("15376371009_01", "first-Pwd01");
  const station_credentials own{"15376371009", "15376371009_01", s.password_for("15376371009_01")};
  EXPECT_EQ(credentials_for(s, own, {}, {}).password, "first-Pwd01");
  EXPECT_EQ(credentials_for(s, own, "15376371009_01", {}).password, "first-Pwd01");
  EXPECT_EQ(credentials_for(s, own, "15376371009_03", {}).password, "s3cretPwd");
}

TEST(nodo_credentials, the_envelope_carries_the_chosen_stations_password) {
  const auto second = credentials_for(three_stations(), who, "15376371009_02", {});
  invia_rpt_request rq{"80012000826", "02000000000000123", "ccp-1", "BCITITMM",
                       "00799960158", "00799960158_01",    "<RPT/>"};
  const auto xml = encode(second, rq);
  PAGOHUB_EXPECT_CONFORMS(xml);
  EXPECT_NE(xml.find("<identificativoStazioneIntermediarioPA>15376371009_02<"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<password>second-Pwd2<"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("s3cretPwd"), std::string::npos) << xml;
  // The other primitives carry the credentials in their body.
  const auto copy = encode(second, chiedi_copia_rt_request{"80012000826", "123", "ccp"});
  EXPECT_NE(copy.find("<password>second-Pwd2<"), std::string::npos) << copy;
}

}  // namespace
}  // namespace pagohub::nodo_client
