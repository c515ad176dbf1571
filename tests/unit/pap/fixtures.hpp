#pragma once
// Entities, positions and messages for the pap unit tests.
#include <pagohub/config/entity.hpp>
#include <pagohub/core/fiscal_code.hpp>
#include <pagohub/positions/model.hpp>

#include <chrono>
#include <string>

namespace pagohub::pap::testing {

inline constexpr const char* fc = "01234567897";
inline constexpr const char* iban = "IT97U0503411701000000001234";
inline constexpr const char* postal_iban = "IT22L0760101600000012345678";
inline constexpr const char* notice = "301000000000000144";

inline config::entity entity() {
  config::entity e{core::entity_fiscal_code::parse(fc).value()};
  e.name = "Comune di Esempio";
  e.segregation_code = 1;
  e.broker_id = "15376371009";
  e.station_id = "15376371009_01";
  e.ibans = {config::iban_entry{core::iban::parse(iban).value(), false, ""},
             config::iban_entry{core::iban::parse(postal_iban).value(), true, ""}};
  return e;
}

inline positions::timestamp now() {
  using namespace std::chrono;
  return sys_days(year{2025} / 3 / 1) + hours(10);
}

/// A VALID position with one single option of `cents`, split over `transfers` transfers; the
/// second transfer has a postal account.
inline positions::position position(long long cents = 12000, int transfers = 1) {
  using namespace std::chrono;
  positions::position p;
  p.id = 7;
  p.entity_fiscal_code = fc;
  p.external_id = "tari-1";
  p.payer.fiscal_code = "RSSMRA80A01H501U";
  p.payer.full_name = "Mario Rossi";
  p.description = "TARI 2025";
  p.service_code = "TARI";
  p.status = positions::position_status::valid;
  p.metadata = {{"anno", "2025"}};
  positions::payment_option o;
  o.notice_number = notice;
  o.iuv = std::string(notice).substr(1);
  o.amount = cents;
  o.due_date = year{2025} / 12 / 31;
  o.description = "Rata unica";
  for (int i = 1; i <= transfers; ++i) {
    positions::transfer t;
    t.index = i;
    t.beneficiary_fiscal_code = fc;
    t.amount = cents / transfers + (i == 1 ? cents % transfers : 0);
    t.iban = iban;
    if (i == 2) {
      t.iban.reset();
      t.postal_iban = postal_iban;
    }
    t.remittance_information = "quota " + std::to_string(i);
    t.taxonomy = "9/0101002IM/";
    o.transfers.push_back(t);
  }
  p.options.push_back(o);
  return p;
}

}  // namespace pagohub::pap::testing
