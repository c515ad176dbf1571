// Transfer rules: count and indexes, sums, beneficiaries, IBANs, stamps, taxonomy, accounting.
#include <limits>
#include <string>

#include "unit/positions/validation_support.hpp"

namespace pagohub::positions::testing {
namespace {

namespace codes = error_codes;

using transfer_rules = validation_test;

// A single option of 100.00 split over `n` transfers (indexes 1..n) to the entity itself.
position split(int n, core::amount_cents each = 2000) {
  position p = single_position();
  payment_option& o = p.options[0];
  o.amount = each * n;
  o.transfers.clear();
  for (int i = 1; i <= n; ++i) o.transfers.push_back(make_transfer(i, each));
  return p;
}

const std::string t0 = "/paymentOptions/0/transfers/0";

TEST_F(transfer_rules, one_to_five_transfers) {
  EXPECT_VALID(judge(split(1)));
  EXPECT_VALID(judge(split(5)));
  const auto six = judge(split(6));
  EXPECT_TRUE(has_error(six, "/paymentOptions/0/transfers", codes::count)) << describe(six);
  // ...and the sixth cannot have a valid idTransfer either.
  EXPECT_TRUE(has_error(six, "/paymentOptions/0/transfers/5/index", codes::out_of_range));
  EXPECT_EQ(six.size(), 2U) << describe(six);
  auto p = split(1);
  p.options[0].transfers.clear();
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers", codes::required);
}

TEST_F(transfer_rules, amounts_off_limits_are_not_summed) {
  // Amounts no decoder would let through: summing them would overflow 64 bits. Each is refused
  // on its own, and no sum is judged.
  constexpr auto huge = std::numeric_limits<core::amount_cents>::max();
  auto p = split(2);
  p.options[0].amount = huge;
  p.options[0].transfers[0].amount = huge;
  p.options[0].transfers[1].amount = huge;
  const auto errors = judge(p);
  EXPECT_TRUE(has_error(errors, "/paymentOptions/0/amount", codes::out_of_range));
  EXPECT_TRUE(has_error(errors, t0 + "/amount", codes::out_of_range));
  EXPECT_TRUE(has_error(errors, "/paymentOptions/0/transfers/1/amount", codes::out_of_range));
  EXPECT_FALSE(has_error(errors, "/paymentOptions/0/transfers", codes::sum_mismatch))
      << describe(errors);
  auto q = split(1);
  q.options[0].transfers[0].accounting = {{"C1", "", 2025, "", huge}, {"C2", "", 2025, "", huge}};
  EXPECT_FALSE(has_error(judge(q), t0 + "/accounting", codes::sum_mismatch));
}

TEST_F(transfer_rules, indexes_are_distinct_and_one_to_five) {
  auto p = split(3);
  p.options[0].transfers[0].index = 5;  // 5, 2, 3: need not be consecutive
  EXPECT_VALID(judge(p));
  p.options[0].transfers[2].index = 2;  // 5, 2, 2
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers/2/index", codes::duplicate);
  p = split(2);
  p.options[0].transfers[1].index = 6;
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers/1/index", codes::out_of_range);
  p.options[0].transfers[1].index = 0;
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers/1/index", codes::out_of_range);
}

TEST_F(transfer_rules, transfers_add_up_to_the_option_amount) {
  auto p = split(3);
  p.options[0].transfers[1].amount = 2001;
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers", codes::sum_mismatch);
  p.options[0].transfers[2].amount = 1999;
  EXPECT_VALID(judge(p));
  p.options[0].transfers[2].amount = 0;
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers/2/amount", codes::out_of_range);
}

TEST_F(transfer_rules, beneficiary_defaults_to_the_entity_and_must_be_valid) {
  auto p = split(1);
  p.options[0].transfers[0].beneficiary_fiscal_code = own_fc;
  EXPECT_VALID(judge(p));
  p.options[0].transfers[0].beneficiary_fiscal_code = "01234567890";
  p.options[0].transfers[0].iban = unregistered_iban;
  EXPECT_ONLY_ERROR(judge(p), t0 + "/beneficiaryFiscalCode", codes::invalid);
}

TEST_F(transfer_rules, own_iban_must_be_registered) {
  auto p = split(1);
  p.options[0].transfers[0].iban = own_iban;
  EXPECT_VALID(judge(p));
  p.options[0].transfers[0].iban = "it97u0503411701000000001234";  // normalised
  EXPECT_VALID(judge(p));
  p.options[0].transfers[0].iban = unregistered_iban;
  EXPECT_ONLY_ERROR(judge(p), t0 + "/iban", codes::not_registered);
  p.options[0].transfers[0].iban = "IT98U0503411701000000001234";  // mod 97 fails
  EXPECT_ONLY_ERROR(judge(p), t0 + "/iban", codes::invalid);
  p.options[0].transfers[0].iban = "IT97 U050 3411 7010 0000 0001 234";
  EXPECT_ONLY_ERROR(judge(p), t0 + "/iban", codes::invalid);
}

TEST_F(transfer_rules, other_beneficiaries) {
  // Multi-beneficiary: 70.00 to the entity, 30.00 to another one.
  auto p = split(2);
  p.options[0].transfers[0].amount = 7000;
  p.options[0].transfers[1].amount = 3000;
  p.options[0].amount = 10000;
  transfer& t = p.options[0].transfers[1];
  t.beneficiary_fiscal_code = other_fc;
  t.iban = other_iban;
  EXPECT_VALID(judge(p));
  // An entity pagohub serves: its registered accounts are known and checked.
  t.iban = unregistered_iban;
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers/1/iban", codes::not_registered);
  // Anyone else: syntax only.
  t.beneficiary_fiscal_code = stranger_fc;
  EXPECT_VALID(judge(p));
  t.iban = "IT00X0542811101000000123456";
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers/1/iban", codes::invalid);
  // Another beneficiary never gets the service's default IBAN.
  t.iban.reset();
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/transfers/1/iban", codes::required);
}

TEST_F(transfer_rules, postal_iban) {
  auto p = split(1);
  transfer& t = p.options[0].transfers[0];
  t.iban = own_iban;
  t.postal_iban = own_postal_iban;
  EXPECT_VALID(judge(p));
  t.iban.reset();  // a postal IBAN alone is enough
  EXPECT_VALID(judge(p));
  t.postal_iban = own_iban;  // not a Poste account
  EXPECT_ONLY_ERROR(judge(p), t0 + "/postalIban", codes::invalid);
  t.postal_iban = own_postal_as_plain;  // registered, but not as postal
  EXPECT_ONLY_ERROR(judge(p), t0 + "/postalIban", codes::not_registered);
  t.postal_iban = "IT32Z0760103200000099999999";  // a Poste account nobody registered
  EXPECT_ONLY_ERROR(judge(p), t0 + "/postalIban", codes::not_registered);
}

TEST_F(transfer_rules, revenue_stamp) {
  auto p = single_position();
  p.service_code = "BOLLO";
  p.options[0] = single_option(1600, ymd(2025, 6, 30));
  transfer& t = p.options[0].transfers[0];
  t.stamp = revenue_stamp{"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", "01", "RM"};
  EXPECT_VALID(judge(p));

  auto q = p;
  q.options[0].transfers[0].stamp->province = "rm";  // normalised
  EXPECT_VALID(judge(q));
  q.options[0].transfers[0].stamp->province = "R1";
  EXPECT_ONLY_ERROR(judge(q), t0 + "/stamp/province", codes::invalid);
  q = p;
  q.options[0].transfers[0].stamp->stamp_type = "02";
  EXPECT_ONLY_ERROR(judge(q), t0 + "/stamp/stampType", codes::invalid);
  q = p;
  q.options[0].transfers[0].stamp->document_hash = "not base64!";
  EXPECT_ONLY_ERROR(judge(q), t0 + "/stamp/documentHash", codes::invalid);
  q = p;
  q.options[0].transfers[0].stamp->document_hash = std::string(76, 'A');
  EXPECT_ONLY_ERROR(judge(q), t0 + "/stamp/documentHash", codes::invalid);
  q = p;
  q.options[0].transfers[0].iban = own_iban;  // stamp and IBAN exclude each other
  EXPECT_ONLY_ERROR(judge(q), t0 + "/stamp", codes::inconsistent);
}

TEST_F(transfer_rules, somewhere_to_send_the_money) {
  auto p = single_position();
  p.service_code = "BOLLO";  // no default IBAN
  EXPECT_ONLY_ERROR(judge(p), t0 + "/iban", codes::required);
  p.options[0].transfers[0].iban = own_iban;
  EXPECT_VALID(judge(p));
}

TEST_F(transfer_rules, remittance_information) {
  auto p = split(1);
  p.options[0].transfers[0].remittance_information = std::string(140, 'c');
  EXPECT_VALID(judge(p));
  p.options[0].transfers[0].remittance_information = std::string(141, 'c');
  EXPECT_ONLY_ERROR(judge(p), t0 + "/remittanceInformation", codes::too_long);
  p.options[0].transfers[0].remittance_information = "";
  EXPECT_ONLY_ERROR(judge(p), t0 + "/remittanceInformation", codes::required);
}

TEST_F(transfer_rules, taxonomy_defaults_from_the_service_and_must_be_well_formed) {
  auto p = split(1);
  p.options[0].transfers[0].taxonomy = "9/0201109SP/";
  EXPECT_VALID(judge(p));
  p.options[0].transfers[0].taxonomy = "9/0201109XX/";
  EXPECT_ONLY_ERROR(judge(p), t0 + "/taxonomy", codes::invalid);
  p.options[0].transfers[0].taxonomy = "0201109SP";
  EXPECT_ONLY_ERROR(judge(p), t0 + "/taxonomy", codes::invalid);
}

TEST_F(transfer_rules, accounting_entries_add_up_to_the_transfer) {
  auto p = split(1, 10000);
  auto& acc = p.options[0].transfers[0].accounting;
  acc = {accounting_entry{"1010101", "01", 2025, "123/2025", 6000},
         accounting_entry{"1010102", "", 2025, "", 4000}};
  EXPECT_VALID(judge(p));

  auto q = p;
  q.options[0].transfers[0].accounting[1].amount = 3999;
  EXPECT_ONLY_ERROR(judge(q), t0 + "/accounting", codes::sum_mismatch);
  q = p;
  q.options[0].transfers[0].accounting[0].chapter = "";
  EXPECT_ONLY_ERROR(judge(q), t0 + "/accounting/0/chapter", codes::required);
  q = p;
  q.options[0].transfers[0].accounting[0].article = std::string(36, 'a');
  EXPECT_ONLY_ERROR(judge(q), t0 + "/accounting/0/article", codes::too_long);
  q = p;
  q.options[0].transfers[0].accounting[1].year = 1999;
  EXPECT_ONLY_ERROR(judge(q), t0 + "/accounting/1/year", codes::out_of_range);
  q = p;
  q.options[0].transfers[0].accounting[1].year = 0;
  EXPECT_ONLY_ERROR(judge(q), t0 + "/accounting/1/year", codes::required);
  q = p;
  q.options[0].transfers[0].accounting[1].assessment = std::string(36, 'n');
  EXPECT_ONLY_ERROR(judge(q), t0 + "/accounting/1/assessment", codes::too_long);
  q = p;
  q.options[0].transfers[0].accounting[0].amount = 10000;
  q.options[0].transfers[0].accounting[1].amount = 0;
  EXPECT_ONLY_ERROR(judge(q), t0 + "/accounting/1/amount", codes::out_of_range);
  q = p;
  q.options[0].transfers[0].accounting.clear();
  for (int i = 0; i < 50; ++i) {
    q.options[0].transfers[0].accounting.push_back(accounting_entry{"1", "", 2025, "", 200});
  }
  EXPECT_VALID(judge(q));
  q.options[0].transfers[0].accounting.push_back(accounting_entry{"1", "", 2025, "", 200});
  q.options[0].transfers[0].amount = 10200;  // keep the sums right: only the count is wrong
  q.options[0].amount = 10200;
  EXPECT_ONLY_ERROR(judge(q), t0 + "/accounting", codes::count);
}

}  // namespace
}  // namespace pagohub::positions::testing
