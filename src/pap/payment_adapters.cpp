#include "payment_adapters.hpp"

#include <pagohub/core/amount.hpp>
#include <pagohub/core/text.hpp>
#include <pagohub/pap/faults.hpp>
#include <pagohub/positions/dates.hpp>

#include <algorithm>

namespace pagohub::pap {

namespace {

using positions::option_status;
using positions::position_status;

bool postal_capable(const positions::transfer& t) {
  if (t.postal_iban) return true;
  return t.iban && t.iban->size() == 27 && t.iban->starts_with("IT") &&
         t.iban->substr(5, 5) == "07601";  // DIGEST §5: a postal IBAN has ABI 07601
}

}  // namespace

std::expected<payable, fault_bean> find_payable(const std::optional<positions::position>& found,
                                                std::string_view entity_fc,
                                                std::string_view notice_number,
                                                positions::timestamp now) {
  const std::string id(entity_fc);
  const std::string nav(notice_number);
  if (!found) {
    return std::unexpected(
        make_fault(paa_fault::pagamento_sconosciuto, id, "no debt position for notice " + nav));
  }
  const auto& pos = *found;
  const auto it = std::find_if(pos.options.begin(), pos.options.end(),
                               [&](const auto& o) { return o.notice_number == notice_number; });
  if (it == pos.options.end()) {
    return std::unexpected(
        make_fault(paa_fault::pagamento_sconosciuto, id, "no debt position for notice " + nav));
  }
  switch (pos.status) {
    case position_status::draft:
    case position_status::published:
      return std::unexpected(make_fault(paa_fault::pagamento_sconosciuto, id,
                                        "the position of notice " + nav + " is not payable yet"));
    case position_status::expired:
      return std::unexpected(make_fault(paa_fault::pagamento_scaduto, id,
                                        "the position of notice " + nav + " expired"));
    case position_status::cancelled:
      return std::unexpected(make_fault(paa_fault::pagamento_annullato, id,
                                        "the position of notice " + nav + " was cancelled"));
    case position_status::paid:
      return std::unexpected(
          make_fault(paa_fault::pagamento_duplicato, id, "notice " + nav + " is already paid"));
    case position_status::valid:
    case position_status::partially_paid:
      break;
  }
  if (pos.validity_date && *pos.validity_date > now) {
    return std::unexpected(make_fault(paa_fault::pagamento_sconosciuto, id,
                                      "the position of notice " + nav + " is not payable yet"));
  }
  if (it->status != option_status::unpaid) {
    return std::unexpected(
        make_fault(paa_fault::pagamento_duplicato, id, "notice " + nav + " is already paid"));
  }
  // Paying the single option of a plan whose instalments are partly paid would pay twice.
  if (it->kind == positions::option_kind::single && pos.status == position_status::partially_paid) {
    return std::unexpected(make_fault(
        paa_fault::pagamento_duplicato, id,
        "the position of notice " + nav + " is being paid in instalments, some already paid"));
  }
  return payable{&pos, &*it};
}

verify_response build_verify(const config::entity& entity, const payable& p) {
  const auto& o = *p.option;
  verify_response r;
  r.option = option_description{
      o.amount, positions::format_date(o.due_date), o.description,
      !o.transfers.empty() && std::all_of(o.transfers.begin(), o.transfers.end(), postal_capable)};
  r.payment_description = p.position->description;
  r.fiscal_code_pa = entity.fiscal_code.str();
  r.company_name = entity.name;
  return r;
}

subject subject_of(const positions::debtor& d) {
  subject s;
  s.type = d.type == positions::debtor_type::legal ? "G" : "F";
  s.value = d.fiscal_code;
  s.full_name = d.full_name;
  s.street_name = d.street_name;
  s.civic_number = d.civic_number;
  s.postal_code = d.postal_code;
  s.city = d.city;
  s.state_province_region = d.state_province_region;
  s.country = d.country;
  s.email = d.email;
  return s;
}

get_payment_response build_get_payment(const config::entity& entity,
                                       const config::entity_registry& registry, const payable& p,
                                       const get_payment_request& request) {
  const auto& o = *p.option;
  get_payment_response r;
  r.v2 = request.v2;
  const bool postal = request.transfer_type == "POSTAL";
  payment_data d;
  d.creditor_reference_id = o.iuv;
  d.amount = o.amount;
  d.due_date = positions::format_date(o.due_date);
  d.description = o.description;
  d.company_name = entity.name;
  d.debtor = subject_of(p.position->payer);
  for (const auto& t : o.transfers) {
    payment_transfer x;
    x.id_transfer = t.index;
    x.amount = t.amount;
    x.fiscal_code_pa = t.beneficiary_fiscal_code;
    if (t.stamp) {
      if (!request.v2) {
        r.fault = make_fault(paa_fault::semantica, entity.fiscal_code.str(),
                             "transfer " + std::to_string(t.index) +
                                 " is a marca da bollo, which only paGetPaymentV2 can carry");
        return r;
      }
      x.stamp = stamp_request{t.stamp->document_hash, t.stamp->stamp_type, t.stamp->province};
    } else if (postal && t.postal_iban) {
      // DIGEST §1.2: transferType POSTAL asks for postal accounts where there are some.
      x.iban = t.postal_iban;
    } else {
      x.iban = t.iban ? t.iban : t.postal_iban;
    }
    if (request.v2) {
      const config::entity* beneficiary = registry.find(t.beneficiary_fiscal_code);
      if (beneficiary != nullptr) x.company_name = beneficiary->name;
    }
    x.remittance_information = t.remittance_information;
    // DIGEST §1.2: transferCategory is the taxonomy code, e.g. 9/0101002IM/.
    x.transfer_category = t.taxonomy;
    d.transfers.push_back(std::move(x));
  }
  for (const auto& [k, v] : p.position->metadata) d.meta.emplace_back(k, v);
  r.data = std::move(d);
  return r;
}

dati_pagamento_pa dati_pagamento_of(const positions::payment_option& o) {
  // The first transfer credited to an account: a marca da bollo transfer has none, and the
  // old model's ibanAccredito (stIBANIdentifier) is required.
  std::string account;
  for (const auto& t : o.transfers) {
    account = t.iban.value_or(t.postal_iban.value_or(""));
    if (!account.empty()) break;
  }
  return {o.amount, std::move(account),
          core::utf8_cut("/RFB/" + o.iuv + "/" + core::format_decimal_amount(o.amount) + "/TXT/" +
                             o.description,
                         140)};
}

}  // namespace pagohub::pap
