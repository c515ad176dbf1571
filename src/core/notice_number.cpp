#include <pagohub/core/notice_number.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "ascii.hpp"

namespace pagohub::core {
namespace {

constexpr std::uint64_t max_progressive = 9'999'999'999'999;  // 13 digits (B13)

std::string zero_pad(std::uint64_t value, std::size_t width) {
  std::string s = std::to_string(value);
  return s.size() >= width ? s : std::string(width - s.size(), '0') + s;
}

// SACI §2.2: `<aux><code 2><B13>` followed by its mod-93 check digits.
std::string build(char aux, int code, std::uint64_t progressive, const char* what) {
  if (code < 0 || code > 99) {
    throw std::invalid_argument(std::string(what) + " must be 0..99");
  }
  if (progressive > max_progressive) {
    throw std::invalid_argument("the notice progressive must be below 10^13");
  }
  std::string base = std::string(1, aux) + zero_pad(static_cast<std::uint64_t>(code), 2) +
                     zero_pad(progressive, 13);
  return base + mod93_check_digits(base);
}

}  // namespace

std::string mod93_check_digits(std::string_view digits) {
  // 19 digits always fit in uint64_t (10^19 - 1 < 2^64).
  if (digits.empty() || digits.size() > 19 || !detail::all_digits(digits)) {
    throw std::invalid_argument("mod93_check_digits takes 1..19 decimal digits");
  }
  std::uint64_t n = 0;
  for (char c : digits) n = n * 10 + static_cast<std::uint64_t>(c - '0');
  return zero_pad(n % 93, 2);
}

result<notice_number> notice_number::parse(std::string_view text) {
  if (text.size() != 18 || !detail::all_digits(text)) {
    return fail(errc::invalid_input, "a notice number is exactly 18 digits");
  }
  const char aux = text[0];
  if (aux > '3') {
    return fail(errc::invalid_input, "the first digit of a notice number (aux digit) is 0..3");
  }
  // SACI §2.2: aux 1 carries legacy codes without check digits; 0, 2 and 3 end with the
  // mod-93 remainder of the 16 digits before them.
  if (aux != '1' && mod93_check_digits(text.substr(0, 16)) != text.substr(16)) {
    return fail(errc::invalid_input, "the check digits of the notice number do not match");
  }
  return notice_number(std::string(text));
}

notice_number notice_number::make_aux3(int segregation_code, std::uint64_t progressive) {
  return notice_number(build('3', segregation_code, progressive, "the segregation code"));
}

notice_number notice_number::make_aux0(int application_code, std::uint64_t progressive) {
  return notice_number(build('0', application_code, progressive, "the application code"));
}

std::string notice_number::iuv() const {
  // DIGEST §5 table: aux 0 drops the application code too (IUV = B13 CC, 15 digits).
  return aux_digit() == 0 ? value_.substr(3) : value_.substr(1);
}

bool is_valid_iuv(std::string_view text) {
  return !text.empty() && text.size() <= 35 &&
         std::all_of(text.begin(), text.end(), detail::is_alnum);
}

bool is_valid_rf_creditor_reference(std::string_view text) {
  // ISO 11649: "RF" + 2 check digits + 1..21 alphanumerics; moved to the end, mod 97 == 1.
  if (text.size() < 5 || text.size() > 25 || text.substr(0, 2) != "RF") return false;
  if (!detail::is_digit(text[2]) || !detail::is_digit(text[3])) return false;
  const std::string_view reference = text.substr(4);
  const bool ok = std::all_of(reference.begin(), reference.end(),
                              [](char c) { return detail::is_digit(c) || detail::is_upper(c); });
  if (!ok) return false;
  return detail::mod97(std::string(reference) + std::string(text.substr(0, 4))) == 1;
}

}  // namespace pagohub::core
