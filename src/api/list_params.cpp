#include "list_params.hpp"

#include <pagohub/positions/dates.hpp>

#include <algorithm>
#include <charconv>
#include <set>

#include "position_json.hpp"

namespace pagohub::api {

std::optional<std::vector<std::pair<std::string, std::string>>> split_query(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = http::percent_decode(part.substr(0, eq), true);
    auto value = http::percent_decode(
        eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

void take_page_limit(std::string_view value, int& limit, std::vector<http::field_error>& errors) {
  int n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || ec != std::errc() || end != value.data() + value.size() || n < 1 ||
      n > max_page_size) {
    errors.push_back(
        {"/query/limit", "range", "must be an integer from 1 to " + std::to_string(max_page_size)});
    return;
  }
  limit = n;
}

void check_query(std::string_view query, std::initializer_list<std::string_view> known,
                 std::string_view what, std::vector<http::field_error>& errors,
                 const std::function<void(const std::string& name, std::string& value)>& take) {
  auto pairs = split_query(query);
  if (!pairs) {
    errors.push_back({"/query", "invalid", "the query string has a malformed percent-escape"});
    return;
  }
  std::string names;
  for (const auto k : known) names += (names.empty() ? "" : ", ") + std::string(k);
  std::set<std::string, std::less<>> seen;
  for (auto& [name, value] : *pairs) {
    const std::string path = "/query/" + json_pointer_token(name);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      errors.push_back({path, "unknown_parameter",
                        "is not a parameter of " + std::string(what) + " (" + names + ")"});
    } else if (!seen.insert(name).second) {
      errors.push_back({path, "duplicate", "may be given only once"});
    } else {
      take(name, value);
    }
  }
}

namespace {

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_code_char(char c) {
  return is_alnum(c) || c == '_' || c == '.' || c == '-';
}

// The years the date filters may name: those of parse_timestamp, for updatedSince too.
bool query_year(int year) {
  return year >= min_timestamp_year && year <= max_timestamp_year;
}
std::string query_years_message() {
  return "must be in the years " + std::to_string(min_timestamp_year) + ".." +
         std::to_string(max_timestamp_year);
}

void upper(std::string& s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  });
}

}  // namespace

std::expected<positions::list_query, std::vector<http::field_error>> parse_list_params(
    std::string_view query) {
  std::vector<http::field_error> errors;
  positions::list_query q;
  q.limit = default_page_size;
  const auto take = [&](const std::string& name, std::string& value) {
    const std::string path = "/query/" + json_pointer_token(name);
    if (value.empty()) {
      errors.push_back({path, "required", "must not be empty"});
      return;
    }
    if (name == "status") {
      if (auto s = positions::parse_position_status(value)) {
        q.status = *s;
      } else {
        errors.push_back({path, "enum",
                          "must be one of DRAFT, PUBLISHED, VALID, PARTIALLY_PAID, PAID, EXPIRED, "
                          "CANCELLED"});
      }
    } else if (name == "service") {
      // Checked against the service code pattern before it reaches SQL, where a byte that is
      // not UTF-8 would fail the query rather than match nothing.
      if (value.size() > 35) {
        errors.push_back({path, "too_long", "is longer than 35 characters"});
      } else if (!std::all_of(value.begin(), value.end(), is_code_char)) {
        errors.push_back({path, "invalid", "is a service code: letters, digits, '_', '.' and '-'"});
      } else {
        q.service = value;
      }
    } else if (name == "debtor") {
      if (value.size() > 35) {
        errors.push_back({path, "too_long", "is longer than 35 characters"});
      } else if (!std::all_of(value.begin(), value.end(), is_alnum)) {
        errors.push_back({path, "invalid",
                          "is a fiscal code (codice fiscale, partita IVA or ANONIMO): letters "
                          "and digits"});
      } else {
        upper(value);
        q.debtor = value;
      }
    } else if (name == "dueFrom" || name == "dueTo") {
      auto d = positions::parse_date(value);
      if (!d) {
        errors.push_back({path, "format", "must be a date written YYYY-MM-DD"});
      } else if (!query_year(static_cast<int>(d->year()))) {
        // PostgreSQL has no year 0, and no due date lies that far anyway.
        errors.push_back({path, "range", query_years_message()});
      } else if (name == "dueFrom") {
        q.due_from = *d;
      } else {
        q.due_to = *d;
      }
    } else if (name == "updatedSince") {
      if (auto t = parse_timestamp(value)) {
        q.updated_since = *t;
      } else {
        errors.push_back({path, "format",
                          "must be an RFC 3339 UTC timestamp such as 2025-01-31T09:30:00Z, in "
                          "the years " +
                              std::to_string(min_timestamp_year) + ".." +
                              std::to_string(max_timestamp_year)});
      }
    } else if (name == "cursor") {
      q.cursor = value;
    } else if (name == "limit") {
      take_page_limit(value, q.limit, errors);
    }
  };
  check_query(
      query, {"status", "service", "debtor", "dueFrom", "dueTo", "updatedSince", "cursor", "limit"},
      "this list", errors, take);
  if (q.due_from && q.due_to && *q.due_from > *q.due_to) {
    errors.push_back({"/query/dueTo", "range", "must not be before dueFrom"});
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return q;
}

}  // namespace pagohub::api
