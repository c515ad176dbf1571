#include <pagohub/core/text.hpp>
#include <pagohub/nodo/xml_guard.hpp>
#include <pagohub/nodo/xsd_validator.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/rpt_push/rpt_builder.hpp>

#include <ctime>
#include <regex>

namespace pagohub::rpt_push {

namespace {

std::string el(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2 * name.size() + 16);
  out += "<pay_i:";
  out += name;
  out += '>';
  out += nodo::xml_escape(value);
  out += "</pay_i:";
  out += name;
  out += '>';
  return out;
}

std::string opt_el(std::string_view name, const std::optional<std::string>& v) {
  return v && !v->empty() ? el(name, *v) : std::string{};
}

}  // namespace

std::string collection_data_of(std::string_view taxonomy) {
  static const std::regex typed(R"([0129]/\S{3,138})");
  const std::string t(taxonomy);
  if (std::regex_match(t, typed)) return t;
  return "9/" + t;
}

std::string build_rpt_xml(const rpt_input& in) {
  const std::string when = positions::rome_date_time(in.created);
  std::string x;
  x.reserve(4096);
  x += R"(<?xml version="1.0" encoding="UTF-8"?>)";
  x += R"(<pay_i:RPT xmlns:pay_i="http://www.digitpa.gov.it/schemas/2011/Pagamenti/">)";
  x += el("versioneOggetto", "6.2.0");
  x += "<pay_i:dominio>" + el("identificativoDominio", in.entity_fc) +
       el("identificativoStazioneRichiedente", in.station_id) + "</pay_i:dominio>";
  x += el("identificativoMessaggioRichiesta", in.message_id);
  x += el("dataOraMessaggioRichiesta", when);
  // The payer authenticated at the PSP, not at the station.
  x += el("autenticazioneSoggetto", "N/A");
  const auto& p = in.payer;
  x += "<pay_i:soggettoPagatore><pay_i:identificativoUnivocoPagatore>" +
       el("tipoIdentificativoUnivoco", p.type == "G" ? "G" : "F") +
       el("codiceIdentificativoUnivoco", p.fiscal_code) + "</pay_i:identificativoUnivocoPagatore>" +
       el("anagraficaPagatore", core::utf8_cut(p.full_name, 70)) +
       opt_el("indirizzoPagatore", p.street) + opt_el("civicoPagatore", p.civic_number) +
       opt_el("capPagatore", p.postal_code) + opt_el("localitaPagatore", p.city) +
       opt_el("provinciaPagatore", p.province) + opt_el("nazionePagatore", p.country) +
       "</pay_i:soggettoPagatore>";
  x += "<pay_i:enteBeneficiario><pay_i:identificativoUnivocoBeneficiario>" +
       el("tipoIdentificativoUnivoco", "G") + el("codiceIdentificativoUnivoco", in.entity_fc) +
       "</pay_i:identificativoUnivocoBeneficiario>" +
       el("denominazioneBeneficiario",
          core::utf8_cut(in.entity_name.empty() ? in.entity_fc : in.entity_name, 70)) +
       "</pay_i:enteBeneficiario>";
  x += "<pay_i:datiVersamento>";
  x += el("dataEsecuzionePagamento", when.substr(0, 10));
  x += el("importoTotaleDaVersare", core::format_decimal_amount(in.amount));
  x += el("tipoVersamento", "PO");
  x += el("identificativoUnivocoVersamento", in.iuv);
  x += el("codiceContestoPagamento", in.ccp);
  x += el("firmaRicevuta", "0");
  for (const auto& t : in.transfers) {
    x += "<pay_i:datiSingoloVersamento>";
    x += el("importoSingoloVersamento", core::format_decimal_amount(t.amount));
    if (!t.iban.empty()) x += el("ibanAccredito", t.iban);
    x += el("causaleVersamento", core::utf8_cut(t.remittance, 140));
    x += el("datiSpecificiRiscossione", t.collection_data);
    if (t.stamp_type) {
      x += "<pay_i:datiMarcaBolloDigitale>" + el("tipoBollo", *t.stamp_type) +
           el("hashDocumento", t.stamp_hash.value_or("")) +
           el("provinciaResidenza", t.stamp_province.value_or("")) +
           "</pay_i:datiMarcaBolloDigitale>";
    }
    x += "</pay_i:datiSingoloVersamento>";
  }
  x += "</pay_i:datiVersamento></pay_i:RPT>";
  return x;
}

core::result<void> validate_rpt(std::string_view xml) {
  static const auto schema = nodo::xsd_schema::from_contract("gad/xsd/PagInf_RPT_RT_6_2_0.xsd");
  auto doc = nodo::xml_document::parse(xml);
  if (!doc) return std::unexpected(doc.error());
  return schema->validate(*doc);
}

}  // namespace pagohub::rpt_push
