// Integration settings as JSON for the admin API (settings_json.hpp).
#include "settings_json.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace pagohub::integration::detail {

namespace {

using nlohmann::ordered_json;
using std::chrono::milliseconds;

enum class kind { text, integer, duration, mode };

struct field {
  const char* json;  // the member name in the API
  const char* key;   // the configuration key (and the column)
  kind type;
};

constexpr std::array<field, 11> fields{{
    {"mode", "mode", kind::mode},
    {"baseUrl", "base_url", kind::text},
    {"directory", "directory", kind::text},
    {"timeoutMs", "timeout_ms", kind::integer},
    {"maxConcurrency", "max_concurrency", kind::integer},
    {"maxAttempts", "max_attempts", kind::integer},
    {"maxAge", "max_age", kind::duration},
    {"backoffInitialMs", "backoff_initial_ms", kind::integer},
    {"backoffMaxMs", "backoff_max_ms", kind::integer},
    {"breakerFailures", "breaker_failures", kind::integer},
    {"breakerOpenMs", "breaker_open_ms", kind::integer},
}};

// Members that name configuration an admin cannot change at runtime, with the reason.
const char* not_overridable(std::string_view name) {
  for (auto n : {"auth", "apiKeyHeader", "secret", "secretFile", "secretEnv", "username",
                 "tokenUrl", "scope", "clientCertFile", "clientKeyFile", "caFile"}) {
    if (name == n) {
      return "is set in the configuration only: authentication and secrets are never changed at "
             "runtime";
    }
  }
  for (auto n : {"id", "entities", "application", "applicationId"}) {
    if (name == n) return "is set in the configuration only: it decides the routing";
  }
  if (name == "state") return "is changed with POST .../suspend and .../resume";
  return nullptr;
}

std::optional<config::integration_mode> mode_of(std::string_view s) {
  if (s == "push") return config::integration_mode::push;
  if (s == "pull") return config::integration_mode::pull;
  if (s == "file") return config::integration_mode::file;
  return std::nullopt;
}

// Clears (null) or sets one member of `o` from `v`, already of the right JSON type.
void assign(config::integration_override& o, std::string_view key, const nlohmann::json* v) {
  const bool clear = v == nullptr;
  const auto num = [&] { return v->get<std::int64_t>(); };
  const auto ms = [&] { return milliseconds(num()); };
  if (key == "mode") {
    o.mode = clear ? std::nullopt : mode_of(v->get<std::string>());
  } else if (key == "base_url") {
    o.base_url = clear ? std::nullopt : std::optional(v->get<std::string>());
  } else if (key == "directory") {
    o.directory = clear ? std::nullopt : std::optional(v->get<std::string>());
  } else if (key == "timeout_ms") {
    o.timeout = clear ? std::nullopt : std::optional(ms());
  } else if (key == "max_concurrency") {
    o.max_concurrency = clear ? std::nullopt : std::optional(num());
  } else if (key == "max_attempts") {
    o.max_attempts = clear ? std::nullopt : std::optional(num());
  } else if (key == "max_age") {
    o.max_age = clear ? std::nullopt : config::parse_integration_duration(v->get<std::string>());
  } else if (key == "backoff_initial_ms") {
    o.backoff_initial = clear ? std::nullopt : std::optional(ms());
  } else if (key == "backoff_max_ms") {
    o.backoff_max = clear ? std::nullopt : std::optional(ms());
  } else if (key == "breaker_failures") {
    o.breaker_failures = clear ? std::nullopt : std::optional(num());
  } else if (key == "breaker_open_ms") {
    o.breaker_open = clear ? std::nullopt : std::optional(ms());
  }
}

}  // namespace

ordered_json settings_json(const config::integration& i) {
  ordered_json j;
  j["mode"] = std::string(config::to_string(i.mode));
  if (i.mode == config::integration_mode::push) {
    j["baseUrl"] = i.base_url;
    j["auth"] = std::string(config::to_string(i.auth));
    j["timeoutMs"] = i.timeout.count();
    j["maxConcurrency"] = i.max_concurrency;
  }
  if (i.mode == config::integration_mode::file) j["directory"] = i.directory;
  if (i.mode != config::integration_mode::pull) {
    j["maxAttempts"] = i.max_attempts;
    j["maxAge"] = config::format_integration_duration(i.max_age);
    j["backoffInitialMs"] = i.backoff_initial.count();
    j["backoffMaxMs"] = i.backoff_max.count();
  }
  if (i.mode == config::integration_mode::push) {
    j["breakerFailures"] = i.breaker_failures;
    j["breakerOpenMs"] = i.breaker_open.count();
  }
  return j;
}

ordered_json override_json(const config::integration_override& o) {
  ordered_json j = ordered_json::object();
  if (o.mode) j["mode"] = std::string(config::to_string(*o.mode));
  if (o.base_url) j["baseUrl"] = *o.base_url;
  if (o.directory) j["directory"] = *o.directory;
  if (o.timeout) j["timeoutMs"] = o.timeout->count();
  if (o.max_concurrency) j["maxConcurrency"] = *o.max_concurrency;
  if (o.max_attempts) j["maxAttempts"] = *o.max_attempts;
  if (o.max_age) j["maxAge"] = config::format_integration_duration(*o.max_age);
  if (o.backoff_initial) j["backoffInitialMs"] = o.backoff_initial->count();
  if (o.backoff_max) j["backoffMaxMs"] = o.backoff_max->count();
  if (o.breaker_failures) j["breakerFailures"] = *o.breaker_failures;
  if (o.breaker_open) j["breakerOpenMs"] = o.breaker_open->count();
  return j;
}

std::string patch_path(std::string_view config_key) {
  for (const auto& f : fields)
    if (config_key == f.key) return std::string("/") + f.json;
  return "/" + std::string(config_key);
}

int apply_patch(const nlohmann::json& body, config::integration_override& into,
                std::vector<http::field_error>& errors) {
  int named = 0;
  for (const auto& [name, value] : body.items()) {
    if (name == "reason") continue;
    const std::string path = "/" + name;
    const auto f =
        std::find_if(fields.begin(), fields.end(), [&](const field& x) { return name == x.json; });
    if (f == fields.end()) {
      const char* why = not_overridable(name);
      errors.push_back({path, why ? "not_overridable" : "unknown",
                        name + " " + (why ? why : "is not a setting that can be overridden")});
      continue;
    }
    ++named;
    if (value.is_null()) {
      assign(into, f->key, nullptr);
      continue;
    }
    switch (f->type) {
      case kind::mode:
        if (!value.is_string() || !mode_of(value.get<std::string>())) {
          errors.push_back({path, "invalid", "mode is push, pull or file"});
          continue;
        }
        break;
      case kind::text:
        if (!value.is_string() || value.get<std::string>().empty()) {
          errors.push_back({path, "invalid", name + " must be a non-empty string or null"});
          continue;
        }
        break;
      case kind::duration:
        if (!value.is_string() || !config::parse_integration_duration(value.get<std::string>())) {
          errors.push_back({path, "invalid",
                            name + " must be a duration like \"90m\", \"72h\" or \"7d\", or null"});
          continue;
        }
        break;
      case kind::integer: {
        // Beyond int64 (or absurdly large) is out of every range: refused before the checks.
        constexpr std::uint64_t huge = std::uint64_t{1} << 40;
        const bool fits = (value.is_number_unsigned() && value.get<std::uint64_t>() < huge) ||
                          (value.is_number_integer() && !value.is_number_unsigned() &&
                           value.get<std::int64_t>() > -static_cast<std::int64_t>(huge));
        if (!fits) {
          errors.push_back({path, "invalid",
                            name + (value.is_number_integer() ? " is out of range"
                                                              : " must be an integer or null")});
          continue;
        }
        break;
      }
    }
    assign(into, f->key, &value);
  }
  return named;
}

}  // namespace pagohub::integration::detail
