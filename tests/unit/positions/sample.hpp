#pragma once
// Entities and positions for the positions tests (unit and pg). The codes are made up but pass
// every check: fiscal-code check digits, IBAN mod-97 and Italian CIN.
#include <pagohub/config/entity.hpp>
#include <pagohub/core/fiscal_code.hpp>
#include <pagohub/positions/model.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace pagohub::positions::testing {

inline constexpr const char* own_fc = "01234567897";       // aux 3, segregation code 01
inline constexpr const char* other_fc = "12345678903";     // another entity pagohub serves
inline constexpr const char* aux0_fc = "80000000002";      // aux 0, application code 12
inline constexpr const char* stranger_fc = "00211850078";  // an entity pagohub does not serve

inline constexpr const char* own_iban = "IT97U0503411701000000001234";
inline constexpr const char* own_postal_iban = "IT22L0760101600000012345678";
/// A Poste account registered without `postal = true`.
inline constexpr const char* own_postal_as_plain = "IT31D0760103200000055555555";
inline constexpr const char* other_iban = "IT67P0306909606000000012345";
inline constexpr const char* unregistered_iban = "IT60X0542811101000000123456";

inline constexpr const char* person_cf = "RSSMRA80A01H501U";
inline constexpr const char* person_cf2 = "BNCLRA85T45F205L";

inline core::entity_fiscal_code fc(const char* text) {
  return core::entity_fiscal_code::parse(text).value();
}

inline config::iban_entry account(const char* text, bool postal) {
  return config::iban_entry{core::iban::parse(text).value(), postal, "account"};
}

inline config::entity own_entity() {
  config::entity e{fc(own_fc)};
  e.name = "Comune di Esempio";
  e.aux_digit = 3;
  e.segregation_code = 1;
  e.ibans = {account(own_iban, false), account(own_postal_iban, true),
             account(own_postal_as_plain, false)};
  e.services = {
      config::service{"TARI", "Tassa rifiuti", "9/0101002IM/", {own_iban}, false},
      config::service{
          "MENSA", "Mensa scolastica", "9/0201109SP/", {own_iban, own_postal_iban}, false},
      config::service{"DIRITTI", "Diritti", "9/0101108TS/", {own_postal_iban}, true},
      config::service{"BOLLO", "Marca da bollo", "9/0101108TS/", {}, false},
  };
  return e;
}

inline config::entity other_entity() {
  config::entity e{fc(other_fc)};
  e.name = "Unione dei Comuni";
  e.aux_digit = 3;
  e.segregation_code = 2;
  e.ibans = {account(other_iban, false)};
  e.services = {config::service{"TARI", "Tassa rifiuti", "9/0101002IM/", {other_iban}, false}};
  return e;
}

inline config::entity aux0_entity() {
  config::entity e{fc(aux0_fc)};
  e.name = "Comune Vecchia Configurazione";
  e.aux_digit = 0;
  e.segregation_code = -1;
  e.application_code = 12;
  e.ibans = {account(unregistered_iban, false)};
  e.services = {
      config::service{"TARI", "Tassa rifiuti", "9/0101002IM/", {unregistered_iban}, false}};
  return e;
}

inline config::entity_registry registry() {
  return config::entity_registry({own_entity(), other_entity(), aux0_entity()});
}

inline date ymd(int y, unsigned m, unsigned d) {
  return date{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
}

inline transfer make_transfer(int index, core::amount_cents amount) {
  transfer t;
  t.index = index;
  t.amount = amount;
  t.remittance_information = "TARI 2025 quota " + std::to_string(index);
  return t;
}

inline payment_option single_option(core::amount_cents amount, date due) {
  payment_option o;
  o.kind = option_kind::single;
  o.amount = amount;
  o.due_date = due;
  o.description = "Rata unica";
  o.transfers = {make_transfer(1, amount)};
  return o;
}

inline payment_option instalment_option(int n, core::amount_cents amount, date due) {
  payment_option o = single_option(amount, due);
  o.kind = option_kind::instalment;
  o.instalment = n;
  o.description = "Rata " + std::to_string(n);
  return o;
}

/// A valid position with one single option of 120.00 euro due 2025-06-30, one transfer to the
/// entity itself (IBAN and taxonomy from the service once normalised).
inline position single_position(const std::string& external_id = "TARI-2025-0001") {
  position p;
  p.external_id = external_id;
  p.payer.type = debtor_type::person;
  p.payer.fiscal_code = person_cf;
  p.payer.full_name = "Mario Rossi";
  p.description = "TARI 2025";
  p.service_code = "TARI";
  p.reference_year = 2025;
  p.options = {single_option(12000, ymd(2025, 6, 30))};
  return p;
}

/// A single option of 300.00 and a plan of three instalments of 100.00.
inline position plan_position(const std::string& external_id = "TARI-2025-PLAN") {
  position p = single_position(external_id);
  p.options = {
      single_option(30000, ymd(2025, 6, 30)), instalment_option(1, 10000, ymd(2025, 4, 30)),
      instalment_option(2, 10000, ymd(2025, 5, 31)), instalment_option(3, 10000, ymd(2025, 6, 30))};
  return p;
}

/// "Today" of the unit tests.
inline date today() {
  return ymd(2025, 3, 1);
}

}  // namespace pagohub::positions::testing
