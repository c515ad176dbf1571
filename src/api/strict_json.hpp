#pragma once
// A strict JSON reader for request bodies: duplicate members and deep nesting are errors with
// their JSON-pointer path (RFC 8259 §4 leaves duplicates to the implementation; a body whose
// meaning depends on which duplicate wins is refused instead).
#include <pagohub/http/problem.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::api {

/// Why a body was refused: `syntax` (HTTP 400: not JSON at all, errors[0] with code "syntax";
/// or text that cannot be stored, a string or member name holding U+0000, each with its path)
/// or a list of field errors (HTTP 422).
struct json_problem {
  bool syntax = false;
  std::vector<http::field_error> errors;
};

/// The most field errors one answer (or one import line) lists. A 1 MB body can hold hundreds
/// of thousands of broken members; listing them all would cost far more than the body did,
/// and nobody reads past the first screen anyway.
inline constexpr std::size_t max_listed_errors = 100;

/// The code of the entry that ends a cut list: how many more errors there were.
inline constexpr std::string_view too_many_errors_code = "too_many_errors";

/// Collects field errors, keeping the first max_listed_errors and counting the rest, so that
/// memory stays bounded however many there are.
class error_list {
 public:
  void add(std::string path, std::string code, std::string message);
  bool empty() const noexcept { return items_.empty(); }
  /// The errors kept, followed, when some were left out, by one entry with code
  /// too_many_errors_code and path "" saying how many.
  std::vector<http::field_error> take();

 private:
  std::vector<http::field_error> items_;
  std::size_t omitted_ = 0;
};

/// Cuts `errors` to max_listed_errors entries plus the too_many_errors_code entry; a list that
/// an error_list cut already is left as it is.
void cap_errors(std::vector<http::field_error>& errors);

/// The deepest nesting a body may have; the position shape needs 6.
inline constexpr std::size_t max_json_depth = 32;

/// Parses `text` (UTF-8, checked) into a document. Integers stay integers; a number with a
/// fraction or an exponent is a float, so callers can refuse it where an integer is due.
std::expected<nlohmann::json, json_problem> parse_strict_json(std::string_view text);

/// RFC 6901: "~" -> "~0", "/" -> "~1".
std::string json_pointer_token(std::string_view name);

}  // namespace pagohub::api
