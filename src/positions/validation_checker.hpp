#pragma once
// The accumulator the validation functions share: every rule adds its errors and goes on, so
// the caller gets all of them at once (issue 3: "return ALL errors, not just the first").
#include <pagohub/core/text.hpp>
#include <pagohub/positions/validation.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text.hpp"

namespace pagohub::positions::detail {

class checker {
 public:
  explicit checker(std::vector<field_error>& out) : out_(out) {}

  void add(std::string path, std::string_view code, std::string message) {
    out_.push_back({std::move(path), std::string(code), std::move(message)});
  }

  /// An XSD stTextN value: 1..max characters of well-formed UTF-8 without control characters.
  /// Returns true when the value passes.
  bool text(const std::string& path, std::string_view value, std::size_t max) {
    if (value.empty()) {
      add(path, error_codes::required, "is required (1.." + std::to_string(max) + " characters)");
      return false;
    }
    return well_formed(path, value, max);
  }

  /// The same for a field that may be absent; present, it must not be empty.
  bool optional_text(const std::string& path, const std::optional<std::string>& value,
                     std::size_t max) {
    if (!value) return true;
    if (value->empty()) {
      add(path, error_codes::invalid,
          "must not be empty when present (1.." + std::to_string(max) + " characters)");
      return false;
    }
    return well_formed(path, *value, max);
  }

  /// A value that may be empty but, when not, is at most `max` well-formed characters.
  bool text_or_empty(const std::string& path, std::string_view value, std::size_t max) {
    return value.empty() || well_formed(path, value, max);
  }

 private:
  bool well_formed(const std::string& path, std::string_view value, std::size_t max) {
    const auto length = core::utf8_length(value);
    if (!length) {
      add(path, error_codes::invalid, "is not valid UTF-8");
      return false;
    }
    if (has_control_character(value)) {
      add(path, error_codes::invalid, "must not contain control characters (tabs, line breaks)");
      return false;
    }
    if (*length > max) {
      add(path, error_codes::too_long,
          "is " + std::to_string(*length) + " characters long, at most " + std::to_string(max) +
              " allowed");
      return false;
    }
    return true;
  }

  std::vector<field_error>& out_;
};

/// The rules of the payment options, their transfers and accounting lines, the plan, and the
/// validity date against the due dates (validation_options.cpp).
void check_options(checker& ck, const position& p, const validation_context& ctx);

}  // namespace pagohub::positions::detail
