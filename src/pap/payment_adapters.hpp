#pragma once
// paVerifyPaymentNotice and paGetPayment(V2) as pure functions of the position found for a
// notice (DIGEST §1.1, §1.2): no database here, so every state and shape is unit-tested with
// fixtures. Both are reads: same answer on repetition, nothing locked (SANP3: current-model
// stations must not lock on activation).
#include <pagohub/config/entity.hpp>
#include <pagohub/pap/messages.hpp>
#include <pagohub/positions/model.hpp>

#include <expected>
#include <optional>
#include <string_view>

namespace pagohub::pap {

/// The option a notice number designates, when it can be paid now.
struct payable {
  const positions::position* position;
  const positions::payment_option* option;
};

/// Maps the position's and option's state to the answer (DIGEST §1.1, GPD's mapping [IMPL]):
/// none, DRAFT, PUBLISHED or a validity date still ahead -> PAA_PAGAMENTO_SCONOSCIUTO;
/// EXPIRED -> SCADUTO; CANCELLED -> ANNULLATO; the option (or, for the single option of a plan
/// already partly paid, the plan) paid -> DUPLICATO. The fault's id is `entity_fc`.
std::expected<payable, fault_bean> find_payable(const std::optional<positions::position>& found,
                                                std::string_view entity_fc,
                                                std::string_view notice_number,
                                                positions::timestamp now);

/// The verify answer for a payable option: one option, EQ, the current amount, allCCP true only
/// when every transfer can be credited to a postal account.
verify_response build_verify(const config::entity& entity, const payable& p);

/// The getPayment answer: creditorReferenceId = IUV, transfers 1..5 adding up to the amount,
/// postal IBANs for transferType POSTAL where a transfer has one. V1 cannot carry a marca da
/// bollo: PAA_SEMANTICA then. `registry` names the other beneficiaries (V2 companyName).
get_payment_response build_get_payment(const config::entity& entity,
                                       const config::entity_registry& registry, const payable& p,
                                       const get_payment_request& request);

/// The 2018 model's datiPagamentoPA of an option: its amount, the account of its first transfer
/// (IBAN, else postal IBAN) and the causale in the AgID form /RFB/<IUV>/<amount>/TXT/<text>
/// (SANP2 §7.4), cut to stText140 on a character boundary.
dati_pagamento_pa dati_pagamento_of(const positions::payment_option& o);

/// The ctSubject of a debtor.
subject subject_of(const positions::debtor& d);

}  // namespace pagohub::pap
