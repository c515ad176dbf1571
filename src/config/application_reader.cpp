// [[application]]: back-office applications and their API keys (docs/config-reference.md).
#include <algorithm>
#include <regex>

#include "readers.hpp"

namespace pagohub::config::detail {
namespace {

constexpr std::string_view digest_prefix = "blake2b:";
constexpr std::size_t digest_hex_size = 64;  // 32-byte BLAKE2b digest

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 40 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// "blake2b:<64 hex>" -> the lowercase hex, or empty when the line is malformed. Only the digest
// is ever configured: the key itself never reaches a configuration file.
std::string parse_digest_line(std::string_view line) {
  if (!line.starts_with(digest_prefix)) return {};
  std::string hex(line.substr(digest_prefix.size()));
  if (hex.size() != digest_hex_size) return {};
  for (char& c : hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return hex;
}

constexpr const char* digest_shape =
    "must be \"blake2b:\" and 64 hexadecimal digits, as printed by `pagohubd apikey new`";

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

// api_key_hashes_file: one digest line per line; blank lines and '#' comments are skipped, so
// operators can note which key is which.
void read_digest_file(const table_reader& r, std::vector<std::string>& out) {
  const auto path = r.existing_file("api_key_hashes_file");
  if (!path) return;
  std::string error;
  const auto text = read_file(*path, error);
  if (!text) r.fail("api_key_hashes_file", "cannot read " + path->string() + ": " + error);
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text->size()) {
    auto end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    ++line_no;
    const std::string line = trim(std::string_view(*text).substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line.starts_with('#')) continue;
    auto hex = parse_digest_line(line);
    if (hex.empty()) {
      r.fail("api_key_hashes_file",
             path->string() + " line " + std::to_string(line_no) + ": " + digest_shape);
    }
    out.push_back(std::move(hex));
  }
}

application read_application(const table_reader& r, const daemon_settings& defaults,
                             const entity_registry& entities) {
  application a;
  a.id = r.required_string("id");
  if (!valid_id(a.id)) r.fail("id", "must be 1..40 characters from a-z, 0-9 and '-'");
  a.name = r.required_string("name");
  if (a.name.size() > 140) r.fail("name", "is longer than 140 characters");

  a.entities = r.string_array("entities").value_or(std::vector<std::string>{});
  if (a.entities.empty()) r.fail("entities", "must list at least one entity fiscal code");
  for (std::size_t i = 0; i < a.entities.size(); ++i) {
    const std::string item = "entities[" + std::to_string(i) + "]";
    if (entities.find(a.entities[i]) == nullptr) {
      r.fail(item, "entity " + a.entities[i] + " is not in the entity registry");
    }
    if (std::find(a.entities.begin(), a.entities.begin() + static_cast<std::ptrdiff_t>(i),
                  a.entities[i]) != a.entities.begin() + static_cast<std::ptrdiff_t>(i)) {
      r.fail(item, "duplicate entity " + a.entities[i]);
    }
  }

  a.services = r.string_array("services").value_or(std::vector<std::string>{});
  for (std::size_t i = 0; i < a.services.size(); ++i) {
    const bool offered = std::any_of(a.entities.begin(), a.entities.end(), [&](const auto& fc) {
      return entities.find(fc)->find_service(a.services[i]) != nullptr;
    });
    if (!offered) {
      r.fail("services[" + std::to_string(i) + "]",
             "service " + a.services[i] + " is not a service of any entity granted above");
    }
  }

  for (const auto& line : r.string_array("api_key_hashes").value_or(std::vector<std::string>{})) {
    auto hex = parse_digest_line(line);
    if (hex.empty()) {
      r.fail("api_key_hashes[" + std::to_string(a.key_hashes.size()) + "]", digest_shape);
    }
    a.key_hashes.push_back(std::move(hex));
  }
  read_digest_file(r, a.key_hashes);
  if (a.key_hashes.empty()) {
    r.fail("api_key_hashes",
           "no API key: set api_key_hashes or api_key_hashes_file (see `pagohubd apikey new`)");
  }

  if (auto role = r.string("role")) {
    if (*role == "backoffice") {
      a.role = application_role::backoffice;
    } else if (*role == "operator") {
      a.role = application_role::operator_role;
    } else if (*role == "admin") {
      a.role = application_role::admin;
    } else {
      r.fail("role", "must be backoffice, operator or admin");
    }
  }
  a.rate_per_second =
      r.integer("rate_per_second", 1, 1'000'000).value_or(defaults.api.rate_per_second);
  a.burst = r.integer("burst", 1, 1'000'000).value_or(defaults.api.burst);
  return a;
}

}  // namespace

void read_applications(const table_reader& root, const daemon_settings& defaults,
                       const entity_registry& entities, application_collector& out) {
  if (root.has("application") && root.node("application")->is_table()) {
    root.fail("application",
              "must be an array of tables: write [[application]], not [application]");
  }
  const auto tables = root.table_array("application");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const table_reader r(*tables[i], "application[" + std::to_string(i) + "]", root.file(),
                         {"id", "name", "entities", "services", "api_key_hashes",
                          "api_key_hashes_file", "role", "rate_per_second", "burst"});
    application a = read_application(r, defaults, entities);
    const std::string where = root.file().path.string() + ": " + r.key_path("id");
    const auto [it, inserted] = out.seen_ids.emplace(a.id, where);
    if (!inserted) r.fail("id", "duplicate application, already defined at " + it->second);
    // A key must name one application: it is how a request is attributed.
    for (const auto& hex : a.key_hashes) {
      const auto [dit, fresh] =
          out.seen_digests.emplace(hex, root.file().path.string() + ": " + r.key_path("id"));
      if (!fresh) {
        r.fail("api_key_hashes", "an API key hash is listed twice (also at " + dit->second + ")");
      }
    }
    out.apps.push_back(std::move(a));
  }
}

}  // namespace pagohub::config::detail
