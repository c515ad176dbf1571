#pragma once
// Typed, path-tracking access to one TOML table. Every error it raises is a config_error naming
// the file and the dotted key path, and never quoting a value that might be a secret.
#include <pagohub/config/error.hpp>

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::config::detail {

/// The file being read: its name for messages and its directory for relative paths.
struct source_file {
  std::filesystem::path path;      ///< absolute, shown in errors
  std::filesystem::path base_dir;  ///< the directory relative paths resolve against
};

class table_reader {
 public:
  /// `prefix` is the dotted path of the table ("" for the root, "db", "entity[1]"). Keys not in
  /// `allowed` are an error right away.
  table_reader(const toml::table& table, std::string prefix, const source_file& file,
               std::initializer_list<std::string_view> allowed);

  bool has(std::string_view key) const { return table_.contains(key); }
  const toml::node* node(std::string_view key) const { return table_.get(key); }

  std::optional<std::string> string(std::string_view key) const;
  /// A string that must be present and not empty.
  std::string required_string(std::string_view key) const;
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min,
                                      std::int64_t max) const;
  std::optional<bool> boolean(std::string_view key) const;
  std::optional<std::vector<std::string>> string_array(std::string_view key) const;
  /// A table; nullptr when absent.
  const toml::table* table(std::string_view key) const;
  /// An array of tables ([[key]]); empty when absent.
  std::vector<const toml::table*> table_array(std::string_view key) const;
  /// A path, absolute: relative ones resolve against the file's directory.
  std::optional<std::filesystem::path> path(std::string_view key) const;
  /// A path that must name a readable regular file.
  std::optional<std::filesystem::path> existing_file(std::string_view key) const;

  /// A secret given as `key` (inline), `key_file` (the trimmed content of a file) or `key_env`
  /// (an environment variable); at most one of the three. The value is never put in an error.
  std::optional<std::string> secret(std::string_view key) const;

  /// "prefix.key" (or "key" at the root).
  std::string key_path(std::string_view key) const;
  [[noreturn]] void fail(std::string_view key, std::string reason) const;

  const source_file& file() const noexcept { return file_; }

 private:
  const toml::table& table_;
  std::string prefix_;
  const source_file& file_;
};

/// "a string", "an integer", ... for messages.
std::string type_name(const toml::node& node);

/// Reads a whole file; nullopt with `error` set to the system's reason on failure.
std::optional<std::string> read_file(const std::filesystem::path& path, std::string& error);

}  // namespace pagohub::config::detail
