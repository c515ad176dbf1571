#pragma once
// The query string of GET /positions (docs/api/backoffice.yaml, listPositions): every parameter
// is checked, unknown or repeated ones are refused, each error with its "/query/<name>" path.
#include <pagohub/http/problem.hpp>
#include <pagohub/positions/store.hpp>

#include <expected>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagohub::api {

/// Default and largest page sizes.
inline constexpr int default_page_size = 50;
inline constexpr int max_page_size = 500;

/// Parses `query` (the raw query string, without '?') into the filters of positions::list.
/// `entities` and `application_id` are left for the caller, who takes them from the
/// credentials.
std::expected<positions::list_query, std::vector<http::field_error>> parse_list_params(
    std::string_view query);

/// Splits a raw query string into percent-decoded (name, value) pairs ('+' is a space);
/// nullopt when an escape is malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> split_query(std::string_view query);

/// A page size `limit` as the lists and the feed take it: 1..max_page_size, digits only. Sets
/// `limit`, or adds the range error at "/query/limit" to `errors`.
void take_page_limit(std::string_view value, int& limit, std::vector<http::field_error>& errors);

/// Splits `query` and checks its names against the parameters a route takes, each at most
/// once: `take(name, value)` gets each known parameter, percent-decoded; a malformed escape
/// ("/query"), an unknown name (unknown_parameter, "is not a parameter of <what> (<known>)")
/// and a repeat (duplicate) go to `errors` with their "/query/<name>" path, in the order given,
/// among the errors `take` adds for the values.
void check_query(std::string_view query, std::initializer_list<std::string_view> known,
                 std::string_view what, std::vector<http::field_error>& errors,
                 const std::function<void(const std::string& name, std::string& value)>& take);

}  // namespace pagohub::api
