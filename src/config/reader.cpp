#include "reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pagohub::config::detail {
namespace {

std::string join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (auto n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::optional<std::string> read_file(const std::filesystem::path& path, std::string& error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = "is a directory";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return std::move(buffer).str();
}

table_reader::table_reader(const toml::table& table, std::string prefix, const source_file& file,
                           std::initializer_list<std::string_view> allowed)
    : table_(table), prefix_(std::move(prefix)), file_(file) {
  // Unknown keys are errors (ARCHITECTURE §7): a misspelt key would otherwise silently fall
  // back to its default.
  for (auto&& [k, v] : table_) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
      fail(k.str(), "unknown key (allowed here: " + join(allowed) + ")");
    }
  }
}

std::string table_reader::key_path(std::string_view key) const {
  if (prefix_.empty()) return std::string(key);
  return prefix_ + "." + std::string(key);
}

void table_reader::fail(std::string_view key, std::string reason) const {
  throw config_error(file_.path.string(), key_path(key), std::move(reason));
}

std::optional<std::string> table_reader::string(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return std::nullopt;
  const auto* s = n->as_string();
  if (s == nullptr) fail(key, "must be a string, not " + type_name(*n));
  return s->get();
}

std::string table_reader::required_string(std::string_view key) const {
  auto s = string(key);
  if (!s) fail(key, "is required");
  if (s->empty()) fail(key, "must not be empty");
  return *std::move(s);
}

std::optional<std::int64_t> table_reader::integer(std::string_view key, std::int64_t min,
                                                  std::int64_t max) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return std::nullopt;
  const auto* i = n->as_integer();
  if (i == nullptr) fail(key, "must be an integer, not " + type_name(*n));
  const std::int64_t v = i->get();
  if (v < min || v > max) {
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (is " +
                  std::to_string(v) + ")");
  }
  return v;
}

std::optional<bool> table_reader::boolean(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return std::nullopt;
  const auto* b = n->as_boolean();
  if (b == nullptr) fail(key, "must be true or false, not " + type_name(*n));
  return b->get();
}

std::optional<std::vector<std::string>> table_reader::string_array(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return std::nullopt;
  const auto* a = n->as_array();
  if (a == nullptr) fail(key, "must be an array of strings, not " + type_name(*n));
  std::vector<std::string> out;
  out.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto* s = (*a)[i].as_string();
    const std::string item = std::string(key) + "[" + std::to_string(i) + "]";
    if (s == nullptr) fail(item, "must be a string, not " + type_name((*a)[i]));
    if (s->get().empty()) fail(item, "must not be empty");
    out.push_back(s->get());
  }
  return out;
}

const toml::table* table_reader::table(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return nullptr;
  const auto* t = n->as_table();
  if (t == nullptr) fail(key, "must be a table ([" + key_path(key) + "]), not " + type_name(*n));
  return t;
}

std::vector<const toml::table*> table_reader::table_array(std::string_view key) const {
  std::vector<const toml::table*> out;
  const toml::node* n = table_.get(key);
  if (n == nullptr) return out;
  const auto* a = n->as_array();
  if (a == nullptr || !a->is_array_of_tables()) {
    fail(key, "must be an array of tables: write each one as [[" + key_path(key) + "]]");
  }
  for (const auto& item : *a) out.push_back(item.as_table());
  return out;
}

std::optional<std::filesystem::path> table_reader::path(std::string_view key) const {
  auto s = string(key);
  if (!s) return std::nullopt;
  if (s->empty()) fail(key, "must not be empty");
  std::filesystem::path p(*s);
  if (p.is_relative()) p = file_.base_dir / p;
  return p.lexically_normal();
}

std::optional<std::filesystem::path> table_reader::existing_file(std::string_view key) const {
  auto p = path(key);
  if (!p) return std::nullopt;
  std::string error;
  std::error_code ec;
  if (!std::filesystem::exists(*p, ec)) fail(key, "file " + p->string() + " does not exist");
  if (!std::filesystem::is_regular_file(*p, ec)) {
    fail(key, p->string() + " is not a regular file");
  }
  std::ifstream probe(*p, std::ios::binary);
  if (!probe) fail(key, "cannot read " + p->string() + ": " + std::strerror(errno));
  return p;
}

std::optional<std::string> table_reader::secret(std::string_view key) const {
  const std::string file_key = std::string(key) + "_file";
  const std::string env_key = std::string(key) + "_env";
  const int given =
      static_cast<int>(has(key)) + static_cast<int>(has(file_key)) + static_cast<int>(has(env_key));
  if (given > 1) {
    fail(key, "set only one of " + std::string(key) + ", " + file_key + " and " + env_key);
  }
  if (has(key)) {
    const toml::node* n = table_.get(key);
    if (!n->is_string()) fail(key, "must be a string, not " + type_name(*n));
    return n->as_string()->get();
  }
  if (has(file_key)) {
    const auto p = path(file_key);
    std::string error;
    auto content = read_file(*p, error);
    if (!content) fail(file_key, "cannot read " + p->string() + ": " + error);
    std::string value = trim(*std::move(content));
    if (value.empty()) fail(file_key, "file " + p->string() + " is empty");
    return value;
  }
  if (has(env_key)) {
    const auto name = string(env_key);
    if (name->empty()) fail(env_key, "must name an environment variable");
    const char* value = std::getenv(name->c_str());  // NOLINT(concurrency-mt-unsafe): start-up
    if (value == nullptr) fail(env_key, "environment variable " + *name + " is not set");
    std::string v = trim(value);
    if (v.empty()) fail(env_key, "environment variable " + *name + " is empty");
    return v;
  }
  return std::nullopt;
}

}  // namespace pagohub::config::detail
