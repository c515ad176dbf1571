// Payment options, transfers and accounting lines: the money rules of a position.
#include <pagohub/core/amount.hpp>
#include <pagohub/core/fiscal_code.hpp>
#include <pagohub/core/iban.hpp>
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/notice_numbers.hpp>
#include <pagohub/positions/validation.hpp>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "text.hpp"
#include "validation_checker.hpp"

namespace pagohub::positions::detail {
namespace {

namespace codes = error_codes;
using core::format_decimal_amount;

std::string option_path(std::size_t i) {
  return "/paymentOptions/" + std::to_string(i);
}

// paForNode.xsd stAmountNotZero / GPD "minimum 1": 0.01 .. 999999999.99.
void check_amount(checker& ck, const std::string& path, core::amount_cents amount) {
  if (amount < 1 || amount > core::max_amount_cents) {
    ck.add(path, codes::out_of_range,
           "must be between 1 and " + std::to_string(core::max_amount_cents) +
               " cents (0.01 .. 999999999.99 euro)");
  }
}

// The accounts a beneficiary may be paid on, when pagohub knows them: the entity's own, or
// another entity it serves. For any other beneficiary only the IBAN's syntax can be checked
// (issue 3); pagoPA itself rejects unregistered accounts (DIGEST §5, PPT_IBAN_NON_CENSITO).
const config::entity* known_beneficiary(const validation_context& ctx, std::string_view fc) {
  if (fc == ctx.entity.fiscal_code.str()) return &ctx.entity;
  return ctx.registry.find(fc);
}

void check_iban(checker& ck, const std::string& path, const std::string& text,
                const config::entity* owner, bool postal) {
  const auto parsed = core::iban::parse(text);
  if (!parsed) {
    ck.add(path, codes::invalid, parsed.error().message);
    return;
  }
  if (postal && !parsed->is_postal()) {
    ck.add(path, codes::invalid, "is not a postal IBAN (an Italian IBAN with ABI 07601)");
    return;
  }
  if (owner == nullptr) return;
  const config::iban_entry* entry = owner->find_iban(parsed->str());
  if (entry == nullptr) {
    ck.add(path, codes::not_registered,
           "is not among the registered accounts of entity " + owner->fiscal_code.str());
  } else if (postal && !entry->postal) {
    ck.add(path, codes::not_registered,
           "is registered for entity " + owner->fiscal_code.str() + " but not as a postal account");
  }
}

void check_stamp(checker& ck, const std::string& path, const revenue_stamp& s) {
  // sac-common-types ctRichiestaMarcaDaBollo: hashDocumento stBase64Binary72, tipoBollo
  // stTipoBolloDigitale (enumeration "01"), provinciaResidenza stNazioneProvincia [A-Z]{2}.
  if (!is_valid_base64_72(s.document_hash)) {
    ck.add(path + "/documentHash", codes::invalid, "is 4..72 characters of base64");
  }
  if (s.stamp_type != "01") {
    ck.add(path + "/stampType", codes::invalid, "must be \"01\" (the only stTipoBolloDigitale)");
  }
  if (s.province.size() != 2 || !std::all_of(s.province.begin(), s.province.end(),
                                             [](char c) { return c >= 'A' && c <= 'Z'; })) {
    ck.add(path + "/province", codes::invalid, "is a province code: two capital letters");
  }
}

void check_accounting(checker& ck, const std::string& path, const transfer& t) {
  if (t.accounting.empty()) return;  // optional: only entities using the accounting export
  if (t.accounting.size() > max_accounting_entries) {
    ck.add(path, codes::count,
           "has " + std::to_string(t.accounting.size()) + " entries, at most " +
               std::to_string(max_accounting_entries) + " allowed");
  }
  core::amount_cents sum = 0;
  bool amounts_ok = true;
  for (std::size_t k = 0; k < t.accounting.size(); ++k) {
    const accounting_entry& a = t.accounting[k];
    const std::string base = path + "/" + std::to_string(k);
    ck.text(base + "/chapter", a.chapter, 35);
    ck.text_or_empty(base + "/article", a.article, 35);
    if (a.year < min_year || a.year > max_year) {
      ck.add(base + "/year", a.year == 0 ? codes::required : codes::out_of_range,
             "is the budget year, 2000..2100");
    }
    ck.text_or_empty(base + "/assessment", a.assessment, 35);
    check_amount(ck, base + "/amount", a.amount);
    // Only amounts within bounds are summed: the sum of any input then fits in 64 bits.
    if (a.amount < 1 || a.amount > core::max_amount_cents) {
      amounts_ok = false;
    } else {
      sum += a.amount;
    }
  }
  if (amounts_ok && sum != t.amount) {
    ck.add(path, codes::sum_mismatch,
           "the accounting entries add up to " + format_decimal_amount(sum) +
               ", the transfer amount is " + format_decimal_amount(t.amount));
  }
}

void check_transfer(checker& ck, const std::string& path, const transfer& t,
                    const validation_context& ctx, const config::service* service) {
  if (t.index < 1 || t.index > static_cast<int>(max_transfers)) {
    ck.add(path + "/index", codes::out_of_range, "is the idTransfer, 1..5");
  }
  const config::entity* owner = nullptr;
  if (t.beneficiary_fiscal_code.empty()) {
    ck.add(path + "/beneficiaryFiscalCode", codes::required, "is required");
  } else if (const auto fc = core::entity_fiscal_code::parse(t.beneficiary_fiscal_code); !fc) {
    ck.add(path + "/beneficiaryFiscalCode", codes::invalid, fc.error().message);
  } else {
    owner = known_beneficiary(ctx, t.beneficiary_fiscal_code);
  }
  check_amount(ck, path + "/amount", t.amount);

  // GPD TransferModel: iban XOR stamp; postalIban combinable with iban, not with stamp.
  if (t.stamp && (t.iban || t.postal_iban)) {
    ck.add(path + "/stamp", codes::inconsistent,
           "a revenue stamp transfer carries no IBAN or postal IBAN");
  } else if (!t.stamp && !t.iban && !t.postal_iban) {
    ck.add(path + "/iban", codes::required,
           "a transfer needs an IBAN, a postal IBAN or a revenue stamp (the service \"" +
               (service ? service->code : std::string()) + "\" has no default IBAN)");
  }
  if (t.iban) check_iban(ck, path + "/iban", *t.iban, owner, false);
  if (t.postal_iban) check_iban(ck, path + "/postalIban", *t.postal_iban, owner, true);
  if (t.stamp) check_stamp(ck, path + "/stamp", *t.stamp);

  ck.text(path + "/remittanceInformation", t.remittance_information, 140);
  if (t.taxonomy.empty()) {
    ck.add(path + "/taxonomy", codes::required, "is required (the service has no taxonomy)");
  } else if (!is_valid_taxonomy(t.taxonomy)) {
    ck.add(path + "/taxonomy", codes::invalid,
           "is a pagoPA taxonomy code like 9/0101002IM/ (DIGEST §5)");
  }
  check_accounting(ck, path + "/accounting", t);
}

void check_transfers(checker& ck, const std::string& path, const payment_option& o,
                     const validation_context& ctx, const config::service* service) {
  const std::string list = path + "/transfers";
  // paForNode.xsd ctTransferListPA: 1..5 transfers, idTransfer 1..5.
  if (o.transfers.empty()) {
    ck.add(list, codes::required, "at least one transfer is required");
    return;
  }
  if (o.transfers.size() > max_transfers) {
    ck.add(list, codes::count,
           "has " + std::to_string(o.transfers.size()) + " transfers, at most 5 allowed");
  }
  std::set<int> indexes;
  core::amount_cents sum = 0;
  bool amounts_ok = true;
  for (std::size_t m = 0; m < o.transfers.size(); ++m) {
    const transfer& t = o.transfers[m];
    const std::string base = list + "/" + std::to_string(m);
    check_transfer(ck, base, t, ctx, service);
    if (t.index >= 1 && t.index <= 5 && !indexes.insert(t.index).second) {
      ck.add(base + "/index", codes::duplicate,
             "repeats index " + std::to_string(t.index) + " within the option");
    }
    if (t.amount < 1 || t.amount > core::max_amount_cents) {
      amounts_ok = false;
    } else {
      sum += t.amount;
    }
  }
  // paGetPayment: paymentAmount must equal the sum of transferAmount (DIGEST §1.2).
  if (amounts_ok && o.amount >= 1 && sum != o.amount) {
    ck.add(list, codes::sum_mismatch,
           "the transfers add up to " + format_decimal_amount(sum) + ", the option amount is " +
               format_decimal_amount(o.amount));
  }
}

void check_due_date(checker& ck, const std::string& path, date due, const validation_context& ctx) {
  if (!due.ok()) {
    ck.add(path, codes::required, "is required (YYYY-MM-DD)");
  } else if (static_cast<int>(due.year()) < min_year || static_cast<int>(due.year()) > max_year) {
    ck.add(path, codes::out_of_range, "must be in the years 2000..2100");
  } else if (ctx.is_new && due < ctx.today) {
    ck.add(path, codes::in_past,
           format_date(due) + " is before today (" + format_date(ctx.today) + ", Europe/Rome)");
  }
}

void check_notice(checker& ck, const std::string& path, const payment_option& o,
                  const validation_context& ctx, std::set<std::string>& seen) {
  if (o.notice_number.empty()) return;  // the store assigns one
  const auto n = core::notice_number::parse(o.notice_number);
  if (!n) {
    ck.add(path + "/noticeNumber", codes::invalid, n.error().message);
    return;
  }
  if (!in_notice_space(ctx.entity, *n) && !(ctx.owns_notice && ctx.owns_notice(o.notice_number))) {
    ck.add(path + "/noticeNumber", codes::not_owned,
           "is not in the notice space of entity " + ctx.entity.fiscal_code.str() + " (" +
               notice_space_description(ctx.entity) + ")");
  }
  if (!seen.insert(o.notice_number).second) {
    ck.add(path + "/noticeNumber", codes::duplicate, "repeats a notice number of this position");
  }
  if (!o.iuv.empty() && o.iuv != n->iuv()) {
    ck.add(path + "/iuv", codes::inconsistent,
           "does not match the notice number's IUV " + n->iuv());
  }
}

// DIGEST §6 / issue 3: one single option, an instalment plan (2..N instalments numbered 1..N),
// or both; when both, the plan adds up to the single amount.
void check_plan(checker& ck, const position& p) {
  std::vector<std::size_t> singles;
  std::vector<std::size_t> instalments;
  for (std::size_t i = 0; i < p.options.size(); ++i) {
    (p.options[i].kind == option_kind::single ? singles : instalments).push_back(i);
  }
  for (std::size_t k = 1; k < singles.size(); ++k) {
    ck.add(option_path(singles[k]) + "/kind", codes::count,
           "a position has at most one SINGLE option");
  }
  for (std::size_t i : singles) {
    if (p.options[i].instalment != 0) {
      ck.add(option_path(i) + "/instalment", codes::inconsistent,
             "a SINGLE option has no instalment number");
    }
  }
  if (instalments.empty()) return;
  const int n = static_cast<int>(instalments.size());
  if (n == 1) {
    ck.add(option_path(instalments[0]) + "/kind", codes::count,
           "an instalment plan has at least 2 instalments");
  }
  std::set<int> numbers;
  bool numbering_ok = true;
  core::amount_cents plan_sum = 0;
  bool amounts_ok = true;
  for (std::size_t i : instalments) {
    const payment_option& o = p.options[i];
    if (o.instalment < 1 || o.instalment > n) {
      ck.add(option_path(i) + "/instalment", codes::out_of_range,
             "instalments are numbered 1.." + std::to_string(n) + " without gaps");
      numbering_ok = false;
    } else if (!numbers.insert(o.instalment).second) {
      ck.add(option_path(i) + "/instalment", codes::duplicate,
             "repeats instalment " + std::to_string(o.instalment));
      numbering_ok = false;
    }
    if (o.amount < 1 || o.amount > core::max_amount_cents) {
      amounts_ok = false;
    } else {
      plan_sum += o.amount;
    }
  }
  if (singles.size() == 1 && numbering_ok && amounts_ok) {
    const core::amount_cents single = p.options[singles[0]].amount;
    if (single >= 1 && plan_sum != single) {
      ck.add("/paymentOptions", codes::sum_mismatch,
             "the instalments add up to " + format_decimal_amount(plan_sum) +
                 ", the single option is " + format_decimal_amount(single));
    }
  }
}

}  // namespace

void check_options(checker& ck, const position& p, const validation_context& ctx) {
  if (p.options.empty()) {
    ck.add("/paymentOptions", codes::required, "at least one payment option is required");
    return;
  }
  if (p.options.size() > max_payment_options) {
    ck.add("/paymentOptions", codes::count,
           "has " + std::to_string(p.options.size()) + " options, at most " +
               std::to_string(max_payment_options) + " allowed");
    return;  // judging hundreds more would only bury the one error that matters
  }
  const config::service* service = ctx.entity.find_service(p.service_code);
  std::set<std::string> notices;
  std::optional<date> earliest_due;
  for (std::size_t i = 0; i < p.options.size(); ++i) {
    const payment_option& o = p.options[i];
    const std::string path = option_path(i);
    check_notice(ck, path, o, ctx, notices);
    check_amount(ck, path + "/amount", o.amount);
    check_due_date(ck, path + "/dueDate", o.due_date, ctx);
    if (o.due_date.ok() && (!earliest_due || o.due_date < *earliest_due)) {
      earliest_due = o.due_date;
    }
    ck.text(path + "/description", o.description, 140);
    check_transfers(ck, path, o, ctx, service);
  }
  check_plan(ck, p);
  // A position becomes payable at its validity date (DIGEST §4 lifecycle); it must be payable
  // on the day of its first due date at the latest.
  if (p.validity_date && earliest_due && rome_date(*p.validity_date) > *earliest_due) {
    ck.add("/validityDate", codes::inconsistent,
           "is after the earliest due date " + format_date(*earliest_due));
  }
}

}  // namespace pagohub::positions::detail
