#pragma once
// A strict JSON reader for request bodies: duplicate members and deep nesting are errors with
// their JSON-pointer path (RFC 8259 §4 leaves duplicates to the implementation; a body whose
// meaning depends on which duplicate wins is refused instead).
#include <pagohub/http/problem.hpp>

#include <nlohmann/json.hpp>

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::api {

/// Why a body was refused: `syntax` (not JSON at all: HTTP 400) or a list of field errors
/// (HTTP 422).
struct json_problem {
  bool syntax = false;
  std::vector<http::field_error> errors;
};

/// The deepest nesting a body may have; the position shape needs 6.
inline constexpr std::size_t max_json_depth = 32;

/// Parses `text` (UTF-8, checked) into a document. Integers stay integers; a number with a
/// fraction or an exponent is a float, so callers can refuse it where an integer is due.
std::expected<nlohmann::json, json_problem> parse_strict_json(std::string_view text);

/// RFC 6901: "~" -> "~0", "/" -> "~1".
std::string json_pointer_token(std::string_view name);

}  // namespace pagohub::api
