#include <pagohub/core/fiscal_code.hpp>
#include <pagohub/positions/validation.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "text.hpp"
#include "validation_checker.hpp"

namespace pagohub::positions {
namespace {

using detail::checker;
namespace codes = error_codes;

bool is_external_id_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' ||
         c == '_' || c == '-';
}

bool is_two_uppercase(std::string_view s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

void check_external_id(checker& ck, const std::string& id) {
  // The BO's key; it appears in URLs (PUT /positions/{externalId}), hence the URL-safe set.
  if (id.empty()) {
    ck.add("/externalId", codes::required, "is required");
  } else if (id.size() > max_external_id_length) {
    ck.add("/externalId", codes::too_long,
           "is " + std::to_string(id.size()) + " characters long, at most " +
               std::to_string(max_external_id_length) + " allowed");
  } else if (!std::all_of(id.begin(), id.end(), is_external_id_char)) {
    ck.add("/externalId", codes::invalid, "may contain only letters, digits, '.', '_' and '-'");
  }
}

void check_debtor(checker& ck, const debtor& d) {
  // paForNode.xsd ctSubject: uniqueIdentifier (F|G, 2..16), fullName stText70, streetName
  // stText70, civicNumber/postalCode stText16, city/stateProvinceRegion stText35, country
  // stNazioneProvincia, e-mail stEMail.
  const std::string& fc = d.fiscal_code;
  if (fc.empty()) {
    ck.add("/debtor/fiscalCode", codes::required,
           "is required (\"ANONIMO\" for an anonymous debtor)");
  } else if (fc != anonymous_debtor) {
    if (d.type == debtor_type::person && !core::is_valid_person_fiscal_code(fc)) {
      ck.add("/debtor/fiscalCode", codes::invalid,
             "is not a valid codice fiscale of a person (16 characters with a matching check "
             "character) nor \"ANONIMO\"");
    } else if (d.type == debtor_type::legal && !core::is_valid_vat_number(fc) &&
               !core::is_valid_person_fiscal_code(fc)) {
      ck.add("/debtor/fiscalCode", codes::invalid,
             "is not a valid partita IVA (11 digits with a matching check digit), codice "
             "fiscale nor \"ANONIMO\"");
    }
  }
  ck.text("/debtor/fullName", d.full_name, 70);
  ck.optional_text("/debtor/streetName", d.street_name, 70);
  ck.optional_text("/debtor/civicNumber", d.civic_number, 16);
  ck.optional_text("/debtor/postalCode", d.postal_code, 16);
  ck.optional_text("/debtor/city", d.city, 35);
  ck.optional_text("/debtor/stateProvinceRegion", d.state_province_region, 35);
  if (d.country && !is_two_uppercase(*d.country)) {
    ck.add("/debtor/country", codes::invalid, "is an ISO 3166-1 alpha-2 code: two capital letters");
  }
  if (d.email && !detail::is_valid_email(*d.email)) {
    ck.add("/debtor/email", codes::invalid,
           "is not a valid e-mail address (at most 256 characters)");
  }
  if (d.phone) {
    const std::string& ph = *d.phone;
    const bool chars_ok = std::all_of(ph.begin(), ph.end(), [](char c) {
      return (c >= '0' && c <= '9') || c == '+' || c == ' ' || c == '-' || c == '.' || c == '/' ||
             c == '(' || c == ')';
    });
    if (ph.empty() || ph.size() > 35 || !chars_ok) {
      ck.add("/debtor/phone", codes::invalid,
             "is 1..35 characters: digits, spaces and + - . / ( )");
    }
  }
}

void check_metadata(checker& ck, const std::vector<std::pair<std::string, std::string>>& md) {
  // ctMapEntry: key and value stText140. GPD caps the pairs at 10.
  if (md.size() > max_metadata) {
    ck.add("/metadata", codes::count,
           "has " + std::to_string(md.size()) + " pairs, at most 10 allowed");
  }
  std::set<std::string_view> keys;
  for (std::size_t i = 0; i < md.size(); ++i) {
    const std::string base = "/metadata/" + std::to_string(i);
    if (ck.text(base + "/key", md[i].first, 140) && !keys.insert(md[i].first).second) {
      ck.add(base + "/key", codes::duplicate, "repeats the key \"" + md[i].first + "\"");
    }
    ck.text(base + "/value", md[i].second, 140);
  }
}

void check_year(checker& ck, const std::string& path, int year) {
  if (year == 0) {
    ck.add(path, codes::required, "is required");
  } else if (year < min_year || year > max_year) {
    ck.add(path, codes::out_of_range, "must be between 2000 and 2100");
  }
}

}  // namespace

std::vector<field_error> validate(const position& p, const validation_context& ctx) {
  std::vector<field_error> errors;
  checker ck(errors);
  check_external_id(ck, p.external_id);
  check_debtor(ck, p.payer);
  ck.text("/description", p.description, 140);
  if (p.service_code.empty()) {
    ck.add("/serviceCode", codes::required, "is required");
  } else if (ctx.entity.find_service(p.service_code) == nullptr) {
    ck.add("/serviceCode", codes::unknown_service,
           "\"" + p.service_code + "\" is not in the service catalogue of entity " +
               ctx.entity.fiscal_code.str());
  }
  check_year(ck, "/referenceYear", p.reference_year);
  check_metadata(ck, p.metadata);
  detail::check_options(ck, p, ctx);
  return errors;
}

}  // namespace pagohub::positions
