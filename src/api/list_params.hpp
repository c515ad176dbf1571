#pragma once
// The query string of GET /positions (docs/api/backoffice.yaml, listPositions): every parameter
// is checked, unknown or repeated ones are refused, each error with its "/query/<name>" path.
#include <pagohub/http/problem.hpp>
#include <pagohub/positions/store.hpp>

#include <expected>
#include <string_view>
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

}  // namespace pagohub::api
