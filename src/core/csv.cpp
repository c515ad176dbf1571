#include <pagohub/core/csv.hpp>

namespace pagohub::core {

void append_csv_text(std::string& out, std::string_view v) {
  const bool guard = csv_formula_like(v);
  if (v.find_first_of(",;\"\r\n") == std::string_view::npos) {
    if (guard) out += '\'';
    out += v;
    return;
  }
  out += '"';
  if (guard) out += '\'';
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string csv_text(std::string_view v) {
  std::string out;
  out.reserve(v.size() + 3);
  append_csv_text(out, v);
  return out;
}

}  // namespace pagohub::core
