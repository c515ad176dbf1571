// Payment-option rules: amounts, dates, notice numbers, and the single/instalment plan.
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/notice_numbers.hpp>

#include <chrono>
#include <string>

#include "unit/positions/validation_support.hpp"

namespace pagohub::positions::testing {
namespace {

namespace codes = error_codes;

using option_rules = validation_test;

TEST_F(option_rules, at_least_one_option_and_at_most_100) {
  auto p = single_position();
  p.options.clear();
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions", codes::required);

  p = single_position();
  p.options.clear();
  for (int i = 1; i <= 100; ++i) p.options.push_back(instalment_option(i, 100, ymd(2025, 6, 30)));
  EXPECT_VALID(judge(p));
  p.options.push_back(instalment_option(101, 100, ymd(2025, 6, 30)));
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions", codes::count);
}

TEST_F(option_rules, amount_is_one_cent_to_the_xsd_maximum) {
  auto p = single_position();
  p.options[0] = single_option(1, ymd(2025, 6, 30));
  EXPECT_VALID(judge(p));
  p.options[0] = single_option(core::max_amount_cents, ymd(2025, 6, 30));
  EXPECT_VALID(judge(p));
  for (core::amount_cents bad :
       {core::amount_cents{0}, core::amount_cents{-100}, core::max_amount_cents + 1}) {
    p.options[0] = single_option(bad, ymd(2025, 6, 30));
    const auto errors = judge(p);
    EXPECT_TRUE(has_error(errors, "/paymentOptions/0/amount", codes::out_of_range))
        << bad << describe(errors);
    EXPECT_TRUE(has_error(errors, "/paymentOptions/0/transfers/0/amount", codes::out_of_range));
  }
}

TEST_F(option_rules, due_date_required_and_not_past_for_new_positions) {
  auto p = single_position();
  p.options[0].due_date = today();  // due today is still fine
  EXPECT_VALID(judge(p));
  p.options[0].due_date = ymd(2025, 2, 28);
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/dueDate", codes::in_past);
  EXPECT_VALID(judge(p, /*is_new=*/false));  // a replacement may keep a past due date
  p.options[0].due_date = date{};
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/dueDate", codes::required);
  p.options[0].due_date = ymd(2101, 1, 1);
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/dueDate", codes::out_of_range);
}

TEST_F(option_rules, option_description) {
  auto p = single_position();
  p.options[0].description = std::string(140, 'r');
  EXPECT_VALID(judge(p));
  p.options[0].description = std::string(141, 'r');
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/description", codes::too_long);
  p.options[0].description = "";
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/description", codes::required);
}

TEST_F(option_rules, validity_date_not_after_the_first_due_date) {
  auto p = plan_position();  // first due date 2025-04-30
  using namespace std::chrono;
  // 2025-04-30 23:30 Rome (CEST) is 21:30 UTC: still that day.
  p.validity_date = sys_days(ymd(2025, 4, 30)) + hours(21) + minutes(30);
  EXPECT_VALID(judge(p));
  // 2025-04-30 22:30 UTC is already 1 May in Rome.
  p.validity_date = sys_days(ymd(2025, 4, 30)) + hours(22) + minutes(30);
  EXPECT_ONLY_ERROR(judge(p), "/validityDate", codes::inconsistent);
}

TEST_F(option_rules, entity_supplied_notice_numbers) {
  auto p = plan_position();
  const auto mine = format_notice_number(entity_, 4242);
  p.options[1].notice_number = mine.str();
  EXPECT_VALID(judge(p));

  auto q = p;
  q.options[1].notice_number = "301000000000424299";  // wrong check digits
  EXPECT_ONLY_ERROR(judge(q), "/paymentOptions/1/noticeNumber", codes::invalid);
  q = p;
  q.options[1].notice_number = "30100000000042";  // too short
  EXPECT_ONLY_ERROR(judge(q), "/paymentOptions/1/noticeNumber", codes::invalid);
  q = p;
  q.options[1].notice_number = core::notice_number::make_aux3(2, 4242).str();  // other SS
  EXPECT_ONLY_ERROR(judge(q), "/paymentOptions/1/noticeNumber", codes::not_owned);
  q = p;
  q.options[1].notice_number = core::notice_number::make_aux0(1, 4242).str();  // aux 0
  EXPECT_ONLY_ERROR(judge(q), "/paymentOptions/1/noticeNumber", codes::not_owned);
  q = p;
  q.options[2].notice_number = mine.str();
  EXPECT_ONLY_ERROR(judge(q), "/paymentOptions/2/noticeNumber", codes::duplicate);
}

TEST_F(option_rules, a_number_outside_the_space_passes_only_when_the_application_owns_it) {
  auto p = plan_position();
  const std::string old_space = core::notice_number::make_aux3(2, 4242).str();
  p.options[1].notice_number = old_space;
  normalize(p, entity_);
  validation_context ctx{entity_, registry_, today(), true};
  ctx.owns_notice = [&](const std::string& n) { return n == old_space; };
  EXPECT_VALID(validate(p, ctx));
  // Ownership does not lift the other rules: a number of the space is still checked, and
  // a repeated owned number is still a duplicate.
  p.options[2].notice_number = old_space;
  normalize(p, entity_);
  EXPECT_ONLY_ERROR(validate(p, ctx), "/paymentOptions/2/noticeNumber", codes::duplicate);
  p.options[2].notice_number = core::notice_number::make_aux3(3, 4242).str();
  normalize(p, entity_);
  EXPECT_ONLY_ERROR(validate(p, ctx), "/paymentOptions/2/noticeNumber", codes::not_owned);
}

TEST_F(option_rules, aux0_entities_supply_aux0_numbers) {
  const config::entity old = aux0_entity();
  auto p = single_position();
  p.options[0].notice_number = core::notice_number::make_aux0(12, 77).str();
  EXPECT_VALID(judge_as(old, p));
  p.options[0].notice_number = core::notice_number::make_aux0(13, 77).str();
  EXPECT_ONLY_ERROR(judge_as(old, p), "/paymentOptions/0/noticeNumber", codes::not_owned);
  p.options[0].notice_number = core::notice_number::make_aux3(12, 77).str();
  EXPECT_ONLY_ERROR(judge_as(old, p), "/paymentOptions/0/noticeNumber", codes::not_owned);
}

TEST_F(option_rules, iuv_must_match_the_notice_number) {
  auto p = single_position();
  p.options[0].notice_number = format_notice_number(entity_, 5).str();
  p.options[0].iuv = "01000000000000005XX";
  // normalize derives the IUV from the notice number, so only a caller skipping it is caught.
  EXPECT_VALID(judge(p));
  normalize(p, entity_);
  p.options[0].iuv = "01000000000000099";
  const validation_context ctx{entity_, registry_, today(), true};
  EXPECT_ONLY_ERROR(validate(p, ctx), "/paymentOptions/0/iuv", codes::inconsistent);
}

TEST_F(option_rules, at_most_one_single_option) {
  auto p = single_position();
  p.options.push_back(single_option(12000, ymd(2025, 6, 30)));
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/1/kind", codes::count);
}

TEST_F(option_rules, single_option_has_no_instalment_number) {
  auto p = single_position();
  p.options[0].instalment = 3;
  EXPECT_VALID(judge(p));  // normalize resets it
  normalize(p, entity_);
  p.options[0].instalment = 3;
  const validation_context ctx{entity_, registry_, today(), true};
  EXPECT_ONLY_ERROR(validate(p, ctx), "/paymentOptions/0/instalment", codes::inconsistent);
}

TEST_F(option_rules, a_plan_alone_is_fine) {
  auto p = plan_position();
  p.options.erase(p.options.begin());
  EXPECT_VALID(judge(p));
}

TEST_F(option_rules, a_plan_has_at_least_two_instalments) {
  auto p = single_position();
  p.options = {instalment_option(1, 12000, ymd(2025, 6, 30))};
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/0/kind", codes::count);
}

TEST_F(option_rules, instalments_are_numbered_one_to_n) {
  auto p = plan_position();
  p.options[3].instalment = 4;  // 1, 2, 4
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/3/instalment", codes::out_of_range);
  p = plan_position();
  p.options[3].instalment = 0;
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/3/instalment", codes::out_of_range);
  p = plan_position();
  p.options[3].instalment = 2;  // 1, 2, 2
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions/3/instalment", codes::duplicate);
  p = plan_position();
  std::swap(p.options[1].instalment, p.options[3].instalment);  // any input order is fine
  EXPECT_VALID(judge(p));
}

TEST_F(option_rules, instalments_add_up_to_the_single_option) {
  auto p = plan_position();
  p.options[2] = instalment_option(2, 10001, ymd(2025, 5, 31));
  EXPECT_ONLY_ERROR(judge(p), "/paymentOptions", codes::sum_mismatch);
  p.options[0] = single_option(30001, ymd(2025, 6, 30));
  EXPECT_VALID(judge(p));
}

}  // namespace
}  // namespace pagohub::positions::testing
