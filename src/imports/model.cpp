#include <pagohub/imports/model.hpp>

namespace pagohub::imports {

std::string_view to_string(file_format f) noexcept {
  return f == file_format::csv ? "csv" : "ndjson";
}

std::string_view to_string(load_mode m) noexcept {
  return m == load_mode::all_or_nothing ? "all-or-nothing" : "valid-rows";
}

std::string_view to_string(import_state s) noexcept {
  switch (s) {
    case import_state::queued:
      return "queued";
    case import_state::validating:
      return "validating";
    case import_state::loading:
      return "loading";
    case import_state::done:
      return "done";
    case import_state::failed:
      return "failed";
  }
  return "?";
}

std::optional<file_format> parse_file_format(std::string_view s) noexcept {
  if (s == "csv") return file_format::csv;
  if (s == "ndjson") return file_format::ndjson;
  return std::nullopt;
}

std::optional<load_mode> parse_load_mode(std::string_view s) noexcept {
  if (s == "all-or-nothing") return load_mode::all_or_nothing;
  if (s == "valid-rows") return load_mode::valid_rows;
  return std::nullopt;
}

std::optional<import_state> parse_import_state(std::string_view s) noexcept {
  for (auto st : {import_state::queued, import_state::validating, import_state::loading,
                  import_state::done, import_state::failed}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

}  // namespace pagohub::imports
