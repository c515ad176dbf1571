// The notice space of an entity (DIGEST §5): which notice numbers are its own, and the number a
// progressive makes. No I/O: the allocation from the entity's sequence is notice_numbers.cpp.
#include <pagohub/positions/notice_numbers.hpp>

#include <stdexcept>
#include <string>

namespace pagohub::positions {
namespace {

bool is_entity_code(std::string_view fc) {
  if (fc.size() != 11) return false;
  for (char c : fc) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

int notice_space_code(const config::entity& e) {
  if (e.aux_digit == 3 && e.segregation_code >= 0 && e.segregation_code <= 99) {
    return e.segregation_code;
  }
  if (e.aux_digit == 0 && e.application_code >= 0 && e.application_code <= 99) {
    return e.application_code;
  }
  throw std::invalid_argument("entity " + e.fiscal_code.str() +
                              " has no notice space (aux 3 with a segregation code or aux 0 "
                              "with an application code)");
}

core::notice_number format_notice_number(const config::entity& e, std::uint64_t progressive) {
  const int code = notice_space_code(e);
  return e.aux_digit == 3 ? core::notice_number::make_aux3(code, progressive)
                          : core::notice_number::make_aux0(code, progressive);
}

bool in_notice_space(const config::entity& e, const core::notice_number& n) noexcept {
  int code = -1;
  if (e.aux_digit == 3) code = e.segregation_code;
  if (e.aux_digit == 0) code = e.application_code;
  if (code < 0 || code > 99 || n.aux_digit() != e.aux_digit) return false;
  const std::string& s = n.str();
  return s[1] == static_cast<char>('0' + code / 10) && s[2] == static_cast<char>('0' + code % 10);
}

std::string notice_space_description(const config::entity& e) {
  return e.aux_digit == 3
             ? "aux digit 3 and segregation code " + std::to_string(e.segregation_code)
             : "aux digit 0 and application code " + std::to_string(e.application_code);
}

std::string notice_sequence_name(std::string_view entity_fc) {
  if (!is_entity_code(entity_fc)) {
    throw std::invalid_argument("a notice sequence is named after an 11-digit entity code");
  }
  return "notice_seq_" + std::string(entity_fc);
}

}  // namespace pagohub::positions
