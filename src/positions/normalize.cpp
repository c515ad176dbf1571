// Defaults and canonical forms applied before validation (validation.hpp, normalize()).
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/validation.hpp>

#include <algorithm>
#include <string>

namespace pagohub::positions {
namespace {

void upper(std::string& s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  });
}

void upper(std::optional<std::string>& s) {
  if (s) upper(*s);
}

// The service's first default IBAN becomes the transfer's IBAN; a registered postal account
// among the later defaults becomes its postal IBAN, which the Nodo asks for with
// transferType=POSTAL (DIGEST §1.2).
void apply_default_accounts(transfer& t, const config::entity& entity,
                            const config::service& service) {
  t.iban = service.default_ibans.front();
  const config::iban_entry* first = entity.find_iban(*t.iban);
  if (first != nullptr && first->postal) return;
  for (std::size_t k = 1; k < service.default_ibans.size(); ++k) {
    const config::iban_entry* e = entity.find_iban(service.default_ibans[k]);
    if (e != nullptr && e->postal) {
      t.postal_iban = e->value.str();
      return;
    }
  }
}

}  // namespace

void normalize(position& p, const config::entity& entity) {
  const std::string& own = entity.fiscal_code.str();
  p.entity_fiscal_code = own;
  // Codici fiscali and IBANs are case-insensitive on paper and uppercase in every pagoPA
  // message; storing them uppercase makes lookups (debtor filter, IBAN registry) exact.
  upper(p.payer.fiscal_code);
  const config::service* service = entity.find_service(p.service_code);
  std::optional<date> latest_due;
  for (payment_option& o : p.options) {
    if (o.kind == option_kind::single) o.instalment = 0;
    if (const auto n = core::notice_number::parse(o.notice_number)) o.iuv = n->iuv();
    if (o.due_date.ok() && (!latest_due || o.due_date > *latest_due)) latest_due = o.due_date;
    for (transfer& t : o.transfers) {
      if (t.beneficiary_fiscal_code.empty()) t.beneficiary_fiscal_code = own;
      upper(t.iban);
      upper(t.postal_iban);
      if (t.stamp) upper(t.stamp->province);
      if (service == nullptr) continue;
      if (t.taxonomy.empty()) t.taxonomy = service->taxonomy;
      if (t.beneficiary_fiscal_code == own && !t.iban && !t.postal_iban && !t.stamp &&
          !service->default_ibans.empty()) {
        apply_default_accounts(t, entity, *service);
      }
    }
  }
  if (latest_due) p.due_date = *latest_due;
}

}  // namespace pagohub::positions
