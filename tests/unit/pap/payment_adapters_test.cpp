// paVerifyPaymentNotice and paGetPayment(V2) from fixture positions (DIGEST §1.1, §1.2).
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "payment_adapters.hpp"

namespace pagohub::pap {
namespace {

using namespace testing;
using positions::position_status;

std::string fault_code(const std::optional<positions::position>& p) {
  const auto r = find_payable(p, fc, notice, now());
  return r ? std::string("OK") : r.error().code;
}

TEST(find_payable, maps_states_to_faults) {
  EXPECT_EQ(fault_code(std::nullopt), "PAA_PAGAMENTO_SCONOSCIUTO");
  auto p = position();
  EXPECT_EQ(fault_code(p), "OK");
  for (auto [status, code] : {std::pair{position_status::draft, "PAA_PAGAMENTO_SCONOSCIUTO"},
                              {position_status::published, "PAA_PAGAMENTO_SCONOSCIUTO"},
                              {position_status::expired, "PAA_PAGAMENTO_SCADUTO"},
                              {position_status::cancelled, "PAA_PAGAMENTO_ANNULLATO"},
                              {position_status::paid, "PAA_PAGAMENTO_DUPLICATO"}}) {
    p.status = status;
    EXPECT_EQ(fault_code(p), code) << positions::to_string(status);
  }
}

TEST(find_payable, a_validity_date_ahead_is_not_payable_yet) {
  auto p = position();
  p.validity_date = now() + std::chrono::hours(1);
  EXPECT_EQ(fault_code(p), "PAA_PAGAMENTO_SCONOSCIUTO");
}

TEST(find_payable, a_paid_instalment_and_the_single_option_of_a_partly_paid_plan) {
  auto p = position();
  p.status = position_status::partially_paid;
  EXPECT_EQ(fault_code(p), "PAA_PAGAMENTO_DUPLICATO");  // the single option of that plan
  p.options[0].kind = positions::option_kind::instalment;
  EXPECT_EQ(fault_code(p), "OK");
  p.options[0].status = positions::option_status::paid;
  EXPECT_EQ(fault_code(p), "PAA_PAGAMENTO_DUPLICATO");
}

TEST(build_verify, one_option_eq_with_the_current_amount) {
  const auto e = entity();
  auto p = position(12000, 2);
  const auto r = build_verify(e, *find_payable(p, fc, notice, now()));
  ASSERT_TRUE(r.option);
  EXPECT_EQ(r.option->amount, 12000);
  EXPECT_EQ(r.option->due_date, "2025-12-31");
  EXPECT_FALSE(r.option->all_ccp);  // transfer 1 is not postal
  EXPECT_EQ(r.fiscal_code_pa, fc);
  EXPECT_EQ(r.company_name, "Comune di Esempio");
  EXPECT_EQ(r.payment_description, "TARI 2025");
  p.options[0].transfers[0].iban = postal_iban;
  EXPECT_TRUE(build_verify(e, *find_payable(p, fc, notice, now())).option->all_ccp);
}

TEST(build_get_payment, transfers_add_up_and_creditor_reference_is_the_iuv) {
  const auto e = entity();
  const config::entity_registry registry({e});
  const auto p = position(10001, 3);
  get_payment_request rq;
  rq.v2 = true;
  const auto r = build_get_payment(e, registry, *find_payable(p, fc, notice, now()), rq);
  ASSERT_TRUE(r.data);
  EXPECT_FALSE(r.fault);
  EXPECT_EQ(r.data->creditor_reference_id, std::string(notice).substr(1));
  EXPECT_EQ(r.data->amount, 10001);
  long long sum = 0;
  for (const auto& t : r.data->transfers) sum += t.amount;
  EXPECT_EQ(sum, 10001);
  EXPECT_EQ(r.data->transfers.size(), 3u);
  EXPECT_EQ(r.data->transfers[0].transfer_category, "9/0101002IM/");
  EXPECT_EQ(r.data->transfers[0].company_name, "Comune di Esempio");  // V2
  EXPECT_EQ(r.data->debtor.value, "RSSMRA80A01H501U");
  EXPECT_EQ(r.data->meta.size(), 1u);
}

TEST(build_get_payment, postal_transfer_type_prefers_postal_accounts) {
  const auto e = entity();
  const config::entity_registry registry({e});
  auto p = position(10000, 2);
  p.options[0].transfers[1].iban = iban;  // both an ordinary and a postal account
  get_payment_request rq;
  rq.transfer_type = "POSTAL";
  auto r = build_get_payment(e, registry, *find_payable(p, fc, notice, now()), rq);
  EXPECT_EQ(r.data->transfers[1].iban, postal_iban);
  EXPECT_EQ(r.data->transfers[0].iban, iban);  // no postal account there
  rq.transfer_type.reset();
  r = build_get_payment(e, registry, *find_payable(p, fc, notice, now()), rq);
  EXPECT_EQ(r.data->transfers[1].iban, iban);
}

TEST(build_get_payment, a_revenue_stamp_needs_v2) {
  const auto e = entity();
  const config::entity_registry registry({e});
  auto p = position(1600, 1);
  auto& t = p.options[0].transfers[0];
  t.iban.reset();
  t.stamp = positions::revenue_stamp{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "01", "RM"};
  get_payment_request rq;
  auto v1 = build_get_payment(e, registry, *find_payable(p, fc, notice, now()), rq);
  ASSERT_TRUE(v1.fault);
  EXPECT_EQ(v1.fault->code, "PAA_SEMANTICA");
  rq.v2 = true;
  auto v2 = build_get_payment(e, registry, *find_payable(p, fc, notice, now()), rq);
  ASSERT_TRUE(v2.data);
  ASSERT_TRUE(v2.data->transfers[0].stamp);
  EXPECT_EQ(v2.data->transfers[0].stamp->province, "RM");
  EXPECT_FALSE(v2.data->transfers[0].iban);
}

TEST(dati_pagamento_of, the_account_is_the_first_transfer_credited_to_one) {
  // A marca da bollo first: the old model's ibanAccredito comes from the next transfer.
  auto p = position(2600, 2);
  auto& stamp = p.options[0].transfers[0];
  const std::string account = p.options[0].transfers[1].postal_iban.value_or("");
  ASSERT_FALSE(account.empty());
  stamp.iban.reset();
  stamp.postal_iban.reset();
  stamp.stamp =
      positions::revenue_stamp{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "01", "RM"};
  EXPECT_EQ(dati_pagamento_of(p.options[0]).iban_accredito, account);
  // Only a stamp: no account, which the handlers answer with PAA_SEMANTICA.
  p.options[0].transfers.resize(1);
  EXPECT_EQ(dati_pagamento_of(p.options[0]).iban_accredito, "");
}

}  // namespace
}  // namespace pagohub::pap
