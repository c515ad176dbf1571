// What a receipt does to the books (DIGEST §1.3: never refused; flagged when it does not fit).
#include <gtest/gtest.h>

#include <pagohub/pap/receipts.hpp>

#include "fixtures.hpp"
#include "receipt_processing.hpp"

namespace pagohub::pap {
namespace {

using namespace testing;

receipt_facts facts(long long cents = 12000) {
  receipt_facts f;
  f.entity_fc = fc;
  f.primary_fc = fc;
  f.notice_number = notice;
  f.receipt_id = "token-1";
  f.amount = cents;
  f.transfers = {{1, cents, fc}};
  f.paid_at = now();
  return f;
}

TEST(judge_receipt, a_fitting_receipt_is_applied_without_anomaly) {
  const auto j = judge_receipt(facts(), position());
  EXPECT_TRUE(j.apply);
  EXPECT_FALSE(j.flagged);
}

TEST(judge_receipt, unknown_positions_and_paid_options_are_not_applied) {
  auto j = judge_receipt(facts(), std::nullopt);
  EXPECT_FALSE(j.apply);
  EXPECT_EQ(j.flagged, anomaly::unknown_position);
  auto p = position();
  p.options[0].status = positions::option_status::paid;
  p.options[0].receipt_id = "token-0";
  j = judge_receipt(facts(), p);
  EXPECT_FALSE(j.apply);
  EXPECT_EQ(j.flagged, anomaly::already_paid);
  EXPECT_NE(j.detail.find("token-0"), std::string::npos);
}

TEST(judge_receipt, state_amount_transfers_and_stand_in_are_flagged_but_applied) {
  auto p = position();
  p.status = positions::position_status::cancelled;
  auto j = judge_receipt(facts(), p);
  EXPECT_TRUE(j.apply);
  EXPECT_EQ(j.flagged, anomaly::position_cancelled);

  j = judge_receipt(facts(11000), position());
  EXPECT_TRUE(j.apply);
  EXPECT_EQ(j.flagged, anomaly::amount_mismatch);

  auto f = facts();
  f.transfers = {{1, 6000, fc}, {2, 6000, fc}};
  j = judge_receipt(f, position());
  EXPECT_EQ(j.flagged, anomaly::transfers_mismatch);

  f = facts();
  f.stand_in = true;
  j = judge_receipt(f, position());
  EXPECT_TRUE(j.apply);
  EXPECT_EQ(j.flagged, anomaly::stand_in);

  // Several reasons: the most urgent is the code, all are in the detail.
  f = facts(100);
  f.stand_in = true;
  j = judge_receipt(f, position());
  EXPECT_EQ(j.flagged, anomaly::amount_mismatch);
  EXPECT_NE(j.detail.find("stand-in"), std::string::npos);
}

TEST(judge_receipt, ko_receipts_and_secondary_beneficiaries_are_stored_only) {
  auto f = facts();
  f.outcome_ok = false;
  auto j = judge_receipt(f, position());
  EXPECT_FALSE(j.apply);
  EXPECT_EQ(j.flagged, anomaly::outcome_ko);
  f = facts();
  f.primary_fc = "80012000826";
  j = judge_receipt(f, std::nullopt);
  EXPECT_FALSE(j.apply);
  EXPECT_FALSE(j.flagged);
}

TEST(judge_receipt, an_rt_compares_the_total_only) {
  auto f = facts();
  f.transfers.clear();
  EXPECT_FALSE(judge_receipt(f, position(12000, 2)).flagged);
}

TEST(judge_receipt, a_second_payment_of_a_settled_position_is_not_applied) {
  // The single option unpaid, but the position PAID through its instalments (or the reverse).
  auto p = position();
  p.status = positions::position_status::paid;
  auto j = judge_receipt(facts(), p);
  EXPECT_FALSE(j.apply);
  EXPECT_EQ(j.flagged, anomaly::already_paid);

  // The single option of a plan whose instalments are partly paid: the same money twice.
  p = position();
  p.status = positions::position_status::partially_paid;
  j = judge_receipt(facts(), p);
  EXPECT_FALSE(j.apply);
  EXPECT_EQ(j.flagged, anomaly::already_paid);
  EXPECT_NE(j.detail.find("instalments"), std::string::npos);

  // An instalment of a partly paid plan is what PARTIALLY_PAID is for.
  p.options[0].kind = positions::option_kind::instalment;
  j = judge_receipt(facts(), p);
  EXPECT_TRUE(j.apply);
  EXPECT_FALSE(j.flagged);
}

TEST(database_trouble, tells_the_database_from_the_receipt) {
  const auto error = [](const char* state) {
    return pqxx::sql_error("failure", "SELECT 1", state);
  };
  EXPECT_TRUE(database_trouble(error("57014")));   // statement timeout
  EXPECT_TRUE(database_trouble(error("55P03")));   // lock not available
  EXPECT_TRUE(database_trouble(error("53100")));   // disk full
  EXPECT_TRUE(database_trouble(error("40001")));   // serialization failure
  EXPECT_TRUE(database_trouble(error("08006")));   // connection failure
  EXPECT_FALSE(database_trouble(error("23505")));  // unique violation: the data
  EXPECT_FALSE(database_trouble(error("22001")));  // value too long: the data
  EXPECT_FALSE(database_trouble(error("")));
}

// The key a receipt is stored under (receipts.hpp): its receiptId when the tables can hold
// it, a digest otherwise, the same for every delivery of the receipt.
TEST(receipt_key, is_the_receipt_id_when_it_fits_and_a_digest_otherwise) {
  EXPECT_EQ(receipt_key("c110729d258c4ab1b765fe902d3f3f7b", "<a/>"),
            "c110729d258c4ab1b765fe902d3f3f7b");
  EXPECT_EQ(receipt_key(std::string(35, 'a'), "<a/>"), std::string(35, 'a'));
  // Characters, not bytes: 35 accented letters are 70 bytes and fit.
  std::string accented;
  for (int i = 0; i < 35; ++i) accented += "\xc3\xa8";
  EXPECT_EQ(receipt_key(accented, "<a/>"), accented);

  const auto long_key = receipt_key(std::string(36, 'a'), "<a/>");
  EXPECT_EQ(long_key.size(), 35u);
  EXPECT_TRUE(long_key.starts_with("sha256:"));
  EXPECT_EQ(receipt_key(std::string(36, 'a'), "<b/>"), long_key)
      << "the id decides, not the message";
  EXPECT_NE(receipt_key(std::string(37, 'a'), "<a/>"), long_key);

  // Bytes that are not UTF-8 cannot be stored as they are.
  EXPECT_TRUE(receipt_key("abc\xff", "<a/>").starts_with("sha256:"));

  // An empty receiptId: the message decides, so two receipts are two, a re-delivery one.
  EXPECT_EQ(receipt_key("", "<a/>"), receipt_key("", "<a/>"));
  EXPECT_NE(receipt_key("", "<a/>"), receipt_key("", "<b/>"));
  EXPECT_TRUE(receipt_key("", "<a/>").starts_with("sha256:"));
}

// The key of an RT (receipts.hpp): its (IUV, CCP), never the PSP's message id.
TEST(rt_receipt_key, names_the_iuv_and_ccp_pair) {
  EXPECT_EQ(rt_receipt_key("01000000000000144", "c110729d258c4ab1b765fe902d3f3f7b"),
            "01000000000000144-c110729d258c4ab1b765fe902d3f3f7b");
  EXPECT_EQ(rt_receipt_key("RF23567483937849450550875", "n/a"), "RF23567483937849450550875-n/a");
  // 64 characters fit; 65 do not, and take the digest, as do IUVs with other characters (the
  // dash would make "a-b" + "c" and "a" + "b-c" one key) and CCPs that are not UTF-8.
  EXPECT_EQ(rt_receipt_key(std::string(35, '1'), std::string(28, 'c')).size(), 64u);
  EXPECT_TRUE(rt_receipt_key(std::string(35, '1'), std::string(29, 'c')).starts_with("sha256:"));
  EXPECT_NE(rt_receipt_key("a-b", "c"), rt_receipt_key("a", "b-c"));
  EXPECT_TRUE(rt_receipt_key("a-b", "c").starts_with("sha256:"));
  EXPECT_TRUE(rt_receipt_key("1", "\xff").starts_with("sha256:"));
  EXPECT_TRUE(rt_receipt_key("1", "").starts_with("sha256:"));
  EXPECT_EQ(rt_receipt_key("1", "").size(), 35u);
  // The same pair, the same key: a repeated RT is found again.
  EXPECT_EQ(rt_receipt_key(std::string(40, '1'), std::string(40, 'c')),
            rt_receipt_key(std::string(40, '1'), std::string(40, 'c')));
}

}  // namespace
}  // namespace pagohub::pap
