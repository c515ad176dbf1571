// The configuration checks, in their order (DIGEST §8.1), and caller authentication.
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "station_checks.hpp"

namespace pagohub::pap {
namespace {

using namespace testing;

std::string check(std::string_view broker, std::string_view station, std::string_view pa,
                  call_purpose purpose = call_purpose::payment) {
  auto other = entity();
  other.fiscal_code = core::entity_fiscal_code::parse("80012000826").value();
  other.station_id = "15376371009_02";
  auto disabled = entity();
  disabled.fiscal_code = core::entity_fiscal_code::parse("12345678903").value();
  disabled.enabled = false;
  const config::entity_registry registry({entity(), other, disabled});
  const station_identity self{"15376371009", "15376371009_01"};
  const auto r = check_station(registry, self, broker, station, pa, purpose);
  return r ? std::string("OK") : r.error().code;
}

TEST(check_station, broker_then_station_then_entity) {
  EXPECT_EQ(check("15376371009", "15376371009_01", fc), "OK");
  EXPECT_EQ(check("99999999999", "99999999999_01", "00000000000"), "PAA_ID_INTERMEDIARIO_ERRATO");
  EXPECT_EQ(check("15376371009", "15376371009_09", "00000000000"), "PAA_STAZIONE_INT_ERRATA");
  EXPECT_EQ(check("15376371009", "15376371009_01", "00000000000"), "PAA_ID_DOMINIO_ERRATO");
  EXPECT_EQ(check("15376371009", "15376371009_01", "80012000826"), "PAA_ID_DOMINIO_ERRATO");
  EXPECT_EQ(check("15376371009", "15376371009_01", "12345678903"), "PAA_ID_DOMINIO_ERRATO");
  // The other station exists (an entity uses it), and serves its entity.
  EXPECT_EQ(check("15376371009", "15376371009_02", "80012000826"), "OK");
  EXPECT_EQ(check("", "15376371009_01", fc), "PAA_ID_INTERMEDIARIO_ERRATO");
}

TEST(check_station, a_disabled_entity_still_gets_its_receipts) {
  // Disabling stops new payments; a receipt is a payment already made.
  EXPECT_EQ(check("15376371009", "15376371009_01", "12345678903", call_purpose::receipt), "OK");
  // Unknown or served elsewhere: refused all the same.
  EXPECT_EQ(check("15376371009", "15376371009_01", "00000000000", call_purpose::receipt),
            "PAA_ID_DOMINIO_ERRATO");
  EXPECT_EQ(check("15376371009", "15376371009_01", "80012000826", call_purpose::receipt),
            "PAA_ID_DOMINIO_ERRATO");
}

TEST(check_caller, subjects_and_shared_secret) {
  config::pap_settings s;
  EXPECT_EQ(check_caller(s, "", ""), "");
  s.allowed_client_subjects = {"CN=nodo.pagopa.it,O=PagoPA S.p.A.,C=IT"};
  EXPECT_NE(check_caller(s, "", ""), "");
  EXPECT_NE(check_caller(s, "CN=someone,C=IT", ""), "");
  EXPECT_EQ(check_caller(s, "CN=nodo.pagopa.it,O=PagoPA S.p.A.,C=IT", ""), "");
  s.shared_secret = "0123456789abcdef";
  EXPECT_NE(check_caller(s, "CN=nodo.pagopa.it,O=PagoPA S.p.A.,C=IT", "0123456789abcdeF"), "");
  EXPECT_EQ(check_caller(s, "CN=nodo.pagopa.it,O=PagoPA S.p.A.,C=IT", "0123456789abcdef"), "");
}

}  // namespace
}  // namespace pagohub::pap
