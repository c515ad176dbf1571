// normalize(): the defaults and canonical forms the store keeps.
#include <pagohub/positions/notice_numbers.hpp>
#include <pagohub/positions/validation.hpp>

#include <gtest/gtest.h>

#include "unit/positions/sample.hpp"

namespace pagohub::positions::testing {
namespace {

TEST(normalize, fills_beneficiary_taxonomy_and_iban_from_the_service) {
  const auto e = own_entity();
  auto p = single_position();
  normalize(p, e);
  const transfer& t = p.options[0].transfers[0];
  EXPECT_EQ(p.entity_fiscal_code, own_fc);
  EXPECT_EQ(t.beneficiary_fiscal_code, own_fc);
  EXPECT_EQ(t.taxonomy, "9/0101002IM/");
  EXPECT_EQ(t.iban, std::optional<std::string>(own_iban));
  EXPECT_FALSE(t.postal_iban.has_value());
}

TEST(normalize, a_postal_default_becomes_the_postal_iban) {
  const auto e = own_entity();
  auto p = single_position();
  p.service_code = "MENSA";  // defaults: own_iban, then the registered postal account
  normalize(p, e);
  EXPECT_EQ(p.options[0].transfers[0].iban, std::optional<std::string>(own_iban));
  EXPECT_EQ(p.options[0].transfers[0].postal_iban, std::optional<std::string>(own_postal_iban));
  p = single_position();
  p.service_code = "DIRITTI";  // the only default is postal: it is the IBAN
  normalize(p, e);
  EXPECT_EQ(p.options[0].transfers[0].iban, std::optional<std::string>(own_postal_iban));
  EXPECT_FALSE(p.options[0].transfers[0].postal_iban.has_value());
}

TEST(normalize, keeps_what_is_given) {
  const auto e = own_entity();
  auto p = single_position();
  transfer& t = p.options[0].transfers[0];
  t.beneficiary_fiscal_code = other_fc;
  t.taxonomy = "9/0201109SP/";
  normalize(p, e);
  EXPECT_EQ(p.options[0].transfers[0].beneficiary_fiscal_code, other_fc);
  EXPECT_EQ(p.options[0].transfers[0].taxonomy, "9/0201109SP/");
  // No default account for another beneficiary.
  EXPECT_FALSE(p.options[0].transfers[0].iban.has_value());
}

TEST(normalize, upper_cases_codes_and_derives_iuv_and_due_date) {
  const auto e = own_entity();
  auto p = plan_position();
  p.payer.fiscal_code = "rssmra80a01h501u";
  p.options[0].transfers[0].iban = "it97u0503411701000000001234";
  p.options[1].notice_number = format_notice_number(e, 9).str();
  p.options[0].instalment = 7;
  p.due_date = ymd(2000, 1, 1);
  normalize(p, e);
  EXPECT_EQ(p.payer.fiscal_code, person_cf);
  EXPECT_EQ(p.options[0].transfers[0].iban, std::optional<std::string>(own_iban));
  EXPECT_EQ(p.options[1].iuv, p.options[1].notice_number.substr(1));
  EXPECT_EQ(p.options[0].instalment, 0);
  EXPECT_EQ(p.due_date, ymd(2025, 6, 30));  // the latest option due date

  auto again = p;
  normalize(again, e);  // idempotent
  EXPECT_EQ(again.options[1].iuv, p.options[1].iuv);
  EXPECT_EQ(again.options[0].transfers[0].iban, p.options[0].transfers[0].iban);
  EXPECT_EQ(again.due_date, p.due_date);
}

}  // namespace
}  // namespace pagohub::positions::testing
