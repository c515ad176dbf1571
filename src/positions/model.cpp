#include <pagohub/positions/model.hpp>

#include <array>
#include <utility>

namespace pagohub::positions {
namespace {

// The spellings are the GPD ones (DIGEST §4) where GPD has the state; they are also the values
// of the status columns (sql/0002_positions.sql), so they never change.
constexpr std::array<std::pair<position_status, std::string_view>, 7> position_statuses = {{
    {position_status::draft, "DRAFT"},
    {position_status::published, "PUBLISHED"},
    {position_status::valid, "VALID"},
    {position_status::partially_paid, "PARTIALLY_PAID"},
    {position_status::paid, "PAID"},
    {position_status::expired, "EXPIRED"},
    {position_status::cancelled, "CANCELLED"},
}};

constexpr std::array<std::pair<option_status, std::string_view>, 3> option_statuses = {{
    {option_status::unpaid, "UNPAID"},
    {option_status::paid, "PAID"},
    {option_status::reported, "REPORTED"},
}};

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) noexcept {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return {};
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                             std::string_view name) noexcept {
  for (const auto& [e, n] : table) {
    if (n == name) return e;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(position_status s) noexcept {
  return name_of(position_statuses, s);
}

std::optional<position_status> parse_position_status(std::string_view s) noexcept {
  return value_of(position_statuses, s);
}

std::string_view to_string(option_status s) noexcept {
  return name_of(option_statuses, s);
}

std::optional<option_status> parse_option_status(std::string_view s) noexcept {
  return value_of(option_statuses, s);
}

std::string_view to_string(debtor_type t) noexcept {
  return t == debtor_type::person ? "F" : "G";
}

std::optional<debtor_type> parse_debtor_type(std::string_view s) noexcept {
  if (s == "F") return debtor_type::person;
  if (s == "G") return debtor_type::legal;
  return std::nullopt;
}

std::string_view to_string(option_kind k) noexcept {
  return k == option_kind::single ? "SINGLE" : "INSTALMENT";
}

std::optional<option_kind> parse_option_kind(std::string_view s) noexcept {
  if (s == "SINGLE") return option_kind::single;
  if (s == "INSTALMENT") return option_kind::instalment;
  return std::nullopt;
}

}  // namespace pagohub::positions
