// The PAA fault table (DIGEST §0).
#include <pagohub/pap/faults.hpp>

#include <gtest/gtest.h>

namespace pagohub::pap {
namespace {

TEST(paa_faults, codes_follow_the_digest) {
  EXPECT_EQ(code_of(paa_fault::sintassi_extraxsd), "PAA_SINTASSI_EXTRAXSD");
  EXPECT_EQ(code_of(paa_fault::sintassi_xsd), "PAA_SINTASSI_XSD");
  EXPECT_EQ(code_of(paa_fault::id_dominio_errato), "PAA_ID_DOMINIO_ERRATO");
  EXPECT_EQ(code_of(paa_fault::id_intermediario_errato), "PAA_ID_INTERMEDIARIO_ERRATO");
  EXPECT_EQ(code_of(paa_fault::stazione_int_errata), "PAA_STAZIONE_INT_ERRATA");
  EXPECT_EQ(code_of(paa_fault::pagamento_sconosciuto), "PAA_PAGAMENTO_SCONOSCIUTO");
  EXPECT_EQ(code_of(paa_fault::pagamento_scaduto), "PAA_PAGAMENTO_SCADUTO");
  EXPECT_EQ(code_of(paa_fault::pagamento_annullato), "PAA_PAGAMENTO_ANNULLATO");
  EXPECT_EQ(code_of(paa_fault::pagamento_duplicato), "PAA_PAGAMENTO_DUPLICATO");
  EXPECT_EQ(code_of(paa_fault::pagamento_in_corso), "PAA_PAGAMENTO_IN_CORSO");
  EXPECT_EQ(code_of(paa_fault::attiva_rpt_importo_non_valido), "PAA_ATTIVA_RPT_IMPORTO_NON_VALIDO");
  EXPECT_EQ(code_of(paa_fault::rpt_sconosciuta), "PAA_RPT_SCONOSCIUTA");
  EXPECT_EQ(code_of(paa_fault::rt_sconosciuta), "PAA_RT_SCONOSCIUTA");
  EXPECT_EQ(code_of(paa_fault::rt_duplicata), "PAA_RT_DUPLICATA");
  EXPECT_EQ(code_of(paa_fault::receipt_duplicata), "PAA_RECEIPT_DUPLICATA");
  EXPECT_EQ(code_of(paa_fault::er_duplicata), "PAA_ER_DUPLICATA");
  EXPECT_EQ(code_of(paa_fault::semantica), "PAA_SEMANTICA");
  EXPECT_EQ(code_of(paa_fault::system_error), "PAA_SYSTEM_ERROR");
}

TEST(paa_faults, every_code_has_a_text) {
  for (int i = 0; i <= static_cast<int>(paa_fault::system_error); ++i)
    EXPECT_FALSE(text_of(static_cast<paa_fault>(i)).empty()) << i;
}

TEST(paa_faults, make_fault_keeps_descriptions_on_one_line_and_bounded) {
  const auto f = make_fault(paa_fault::semantica, "01234567897", "line one\nline two");
  EXPECT_EQ(f.code, "PAA_SEMANTICA");
  EXPECT_EQ(f.id, "01234567897");
  EXPECT_EQ(f.description, "line one line two");
  EXPECT_EQ(make_fault(paa_fault::semantica, "x", std::string(5000, 'a')).description.size(),
            1000u);
}

TEST(paa_faults, domain_errors_map_to_one_code_each) {
  EXPECT_EQ(fault_for(core::errc::not_found), paa_fault::pagamento_sconosciuto);
  EXPECT_EQ(fault_for(core::errc::invalid_input), paa_fault::semantica);
  EXPECT_EQ(fault_for(core::errc::conflict), paa_fault::semantica);
  EXPECT_EQ(fault_for(core::errc::unavailable), paa_fault::system_error);
  EXPECT_EQ(fault_for(core::errc::timeout), paa_fault::system_error);
  EXPECT_EQ(fault_for(core::errc::internal), paa_fault::system_error);
}

}  // namespace
}  // namespace pagohub::pap
