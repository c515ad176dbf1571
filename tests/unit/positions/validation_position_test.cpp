// Position-level rules: external id, debtor, description, service, reference year, metadata.
#include <string>

#include "unit/positions/validation_support.hpp"

namespace pagohub::positions::testing {
namespace {

namespace codes = error_codes;

using position_rules = validation_test;

TEST_F(position_rules, samples_are_valid) {
  EXPECT_VALID(judge(single_position()));
  EXPECT_VALID(judge(plan_position()));
}

TEST_F(position_rules, external_id) {
  auto p = single_position("A.b_c-1");
  EXPECT_VALID(judge(p));
  p.external_id = std::string(35, 'x');
  EXPECT_VALID(judge(p));
  p.external_id = "";
  EXPECT_ONLY_ERROR(judge(p), "/externalId", codes::required);
  p.external_id = std::string(36, 'x');
  EXPECT_ONLY_ERROR(judge(p), "/externalId", codes::too_long);
  p.external_id = "a b";
  EXPECT_ONLY_ERROR(judge(p), "/externalId", codes::invalid);
  p.external_id = "a/b";
  EXPECT_ONLY_ERROR(judge(p), "/externalId", codes::invalid);
}

TEST_F(position_rules, person_debtor_needs_a_valid_codice_fiscale) {
  auto p = single_position();
  p.payer.fiscal_code = person_cf2;
  EXPECT_VALID(judge(p));
  p.payer.fiscal_code = "rssmra80a01h501u";  // normalised to uppercase
  EXPECT_VALID(judge(p));
  p.payer.fiscal_code = "RSSMRA80A01H501X";  // wrong check character
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fiscalCode", codes::invalid);
  p.payer.fiscal_code = own_fc;  // a VAT number is not a person's code
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fiscalCode", codes::invalid);
  p.payer.fiscal_code = "";
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fiscalCode", codes::required);
}

TEST_F(position_rules, legal_debtor_takes_a_vat_number_or_a_codice_fiscale) {
  auto p = single_position();
  p.payer.type = debtor_type::legal;
  p.payer.fiscal_code = own_fc;
  EXPECT_VALID(judge(p));
  p.payer.fiscal_code = person_cf;  // sole trader
  EXPECT_VALID(judge(p));
  p.payer.fiscal_code = "01234567890";  // wrong check digit
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fiscalCode", codes::invalid);
}

TEST_F(position_rules, anonymous_debtor) {
  auto p = single_position();
  p.payer.fiscal_code = "ANONIMO";
  EXPECT_VALID(judge(p));
  p.payer.type = debtor_type::legal;
  EXPECT_VALID(judge(p));
  p.payer.fiscal_code = "ANONIMA";
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fiscalCode", codes::invalid);
}

TEST_F(position_rules, full_name_is_st_text70_counted_in_characters) {
  auto p = single_position();
  // 70 two-byte characters: 140 bytes but 70 characters.
  std::string accented;
  for (int i = 0; i < 70; ++i) accented += "\xC3\xA8";  // è
  p.payer.full_name = accented;
  EXPECT_VALID(judge(p));
  p.payer.full_name = accented + "e";
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fullName", codes::too_long);
  p.payer.full_name = "";
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fullName", codes::required);
  p.payer.full_name = "Mario\xC3";  // truncated UTF-8
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fullName", codes::invalid);
  p.payer.full_name = "Mario\xC0\xAF";  // overlong encoding
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fullName", codes::invalid);
  p.payer.full_name = "Mario\nRossi";
  EXPECT_ONLY_ERROR(judge(p), "/debtor/fullName", codes::invalid);
}

TEST_F(position_rules, debtor_address_fields) {
  auto p = single_position();
  p.payer.street_name = "Via Roma";
  p.payer.civic_number = "1/A";
  p.payer.postal_code = "00100";
  p.payer.city = "Roma";
  p.payer.state_province_region = "RM";
  p.payer.country = "IT";
  p.payer.email = "mario.rossi+tari@example.it";
  p.payer.phone = "+39 06 1234567";
  EXPECT_VALID(judge(p));

  auto q = p;
  q.payer.street_name = std::string(71, 'v');
  EXPECT_ONLY_ERROR(judge(q), "/debtor/streetName", codes::too_long);
  q = p;
  q.payer.street_name = "";
  EXPECT_ONLY_ERROR(judge(q), "/debtor/streetName", codes::invalid);
  q = p;
  q.payer.civic_number = std::string(17, '1');
  EXPECT_ONLY_ERROR(judge(q), "/debtor/civicNumber", codes::too_long);
  q = p;
  q.payer.postal_code = std::string(17, '1');
  EXPECT_ONLY_ERROR(judge(q), "/debtor/postalCode", codes::too_long);
  q = p;
  q.payer.city = std::string(36, 'c');
  EXPECT_ONLY_ERROR(judge(q), "/debtor/city", codes::too_long);
  q = p;
  q.payer.state_province_region = std::string(36, 'r');
  EXPECT_ONLY_ERROR(judge(q), "/debtor/stateProvinceRegion", codes::too_long);
  q = p;
  q.payer.country = "it";
  EXPECT_ONLY_ERROR(judge(q), "/debtor/country", codes::invalid);
  q = p;
  q.payer.country = "ITA";
  EXPECT_ONLY_ERROR(judge(q), "/debtor/country", codes::invalid);
  q = p;
  q.payer.email = "mario.rossi@";
  EXPECT_ONLY_ERROR(judge(q), "/debtor/email", codes::invalid);
  q = p;
  q.payer.email = "mario rossi@example.it";
  EXPECT_ONLY_ERROR(judge(q), "/debtor/email", codes::invalid);
  q = p;
  q.payer.email = std::string(250, 'm') + "@ex.it";  // 256: the maximum
  EXPECT_VALID(judge(q));
  q.payer.email = std::string(251, 'm') + "@ex.it";
  EXPECT_ONLY_ERROR(judge(q), "/debtor/email", codes::invalid);
  q = p;
  q.payer.phone = "call me";
  EXPECT_ONLY_ERROR(judge(q), "/debtor/phone", codes::invalid);
}

TEST_F(position_rules, description_is_st_text140) {
  auto p = single_position();
  p.description = std::string(140, 'd');
  EXPECT_VALID(judge(p));
  p.description = std::string(141, 'd');
  EXPECT_ONLY_ERROR(judge(p), "/description", codes::too_long);
  p.description = "";
  EXPECT_ONLY_ERROR(judge(p), "/description", codes::required);
}

TEST_F(position_rules, service_must_be_in_the_catalogue) {
  auto p = single_position();
  p.service_code = "MENSA";
  EXPECT_VALID(judge(p));
  p.service_code = "PARKING";
  // An unknown service also leaves the transfer without its default IBAN and taxonomy.
  const auto errors = judge(p);
  EXPECT_TRUE(has_error(errors, "/serviceCode", codes::unknown_service)) << describe(errors);
  p.service_code = "";
  EXPECT_TRUE(has_error(judge(p), "/serviceCode", codes::required));
}

TEST_F(position_rules, reference_year) {
  auto p = single_position();
  p.reference_year = 2000;
  EXPECT_VALID(judge(p));
  p.reference_year = 2100;
  EXPECT_VALID(judge(p));
  p.reference_year = 0;
  EXPECT_ONLY_ERROR(judge(p), "/referenceYear", codes::required);
  p.reference_year = 1999;
  EXPECT_ONLY_ERROR(judge(p), "/referenceYear", codes::out_of_range);
  p.reference_year = 2101;
  EXPECT_ONLY_ERROR(judge(p), "/referenceYear", codes::out_of_range);
}

TEST_F(position_rules, metadata) {
  auto p = single_position();
  for (int i = 0; i < 10; ++i) p.metadata.emplace_back("k" + std::to_string(i), "v");
  EXPECT_VALID(judge(p));
  auto q = p;
  q.metadata.emplace_back("k10", "v");
  EXPECT_ONLY_ERROR(judge(q), "/metadata", codes::count);
  q = p;
  q.metadata[3].first = "";
  EXPECT_ONLY_ERROR(judge(q), "/metadata/3/key", codes::required);
  q = p;
  q.metadata[4].second = std::string(141, 'v');
  EXPECT_ONLY_ERROR(judge(q), "/metadata/4/value", codes::too_long);
  q = p;
  q.metadata[5].second = "";
  EXPECT_ONLY_ERROR(judge(q), "/metadata/5/value", codes::required);
  q = p;
  q.metadata[6].first = "k1";
  EXPECT_ONLY_ERROR(judge(q), "/metadata/6/key", codes::duplicate);
}

TEST_F(position_rules, every_error_is_reported_at_once) {
  auto p = single_position();
  p.external_id = "bad id";
  p.payer.fiscal_code = "XYZ";
  p.description = "";
  p.reference_year = 1900;
  p.options[0].amount = 0;
  p.options[0].transfers[0].iban = "IT00X0000000000000000000000";
  const auto errors = judge(p);
  EXPECT_TRUE(has_error(errors, "/externalId", codes::invalid)) << describe(errors);
  EXPECT_TRUE(has_error(errors, "/debtor/fiscalCode", codes::invalid));
  EXPECT_TRUE(has_error(errors, "/description", codes::required));
  EXPECT_TRUE(has_error(errors, "/referenceYear", codes::out_of_range));
  EXPECT_TRUE(has_error(errors, "/paymentOptions/0/amount", codes::out_of_range));
  EXPECT_TRUE(has_error(errors, "/paymentOptions/0/transfers/0/iban", codes::invalid));
  EXPECT_EQ(errors.size(), 6U) << describe(errors);
}

}  // namespace
}  // namespace pagohub::positions::testing
