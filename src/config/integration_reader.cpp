// [[integration]]: back-office integrations (docs/config-reference.md, docs/integration.md).
#include <algorithm>
#include <cctype>

#include "readers.hpp"

namespace pagohub::config::detail {
namespace {

namespace lim = integration_limits;

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 40 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// The URL and duration rules are shared with the admins' runtime overrides
// (config/integration_override.hpp), so that both judge a value the same way.
std::string url_problem(std::string_view url) {
  return integration_url_problem(url);
}
std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
  return parse_integration_duration(s);
}

integration read_integration(const table_reader& r, const entity_registry& entities,
                             const application_registry& apps) {
  integration it;
  it.id = r.required_string("id");
  if (!valid_id(it.id)) r.fail("id", "must be 1..40 characters from a-z, 0-9 and '-'");

  it.entities = r.string_array("entities").value_or(std::vector<std::string>{});
  if (it.entities.empty()) r.fail("entities", "must list at least one entity fiscal code");
  for (std::size_t i = 0; i < it.entities.size(); ++i) {
    const std::string item = "entities[" + std::to_string(i) + "]";
    if (entities.find(it.entities[i]) == nullptr) {
      r.fail(item, "entity " + it.entities[i] + " is not in the entity registry");
    }
    if (std::count(it.entities.begin(), it.entities.end(), it.entities[i]) > 1) {
      r.fail(item, "duplicate entity " + it.entities[i]);
    }
  }

  if (auto app = r.string("application")) {
    if (app->empty()) r.fail("application", "must not be empty (leave it out for the default)");
    const application* a = apps.find(*app);
    if (a == nullptr) r.fail("application", "application " + *app + " is not defined");
    for (const auto& fc : it.entities) {
      if (!a->grants_entity(fc)) {
        r.fail("application", "application " + *app + " is not granted entity " + fc);
      }
    }
    it.application = *app;
  }

  const std::string mode = r.string("mode").value_or("push");
  if (mode == "push") {
    it.mode = integration_mode::push;
  } else if (mode == "pull") {
    it.mode = integration_mode::pull;
  } else if (mode == "file") {
    it.mode = integration_mode::file;
  } else {
    r.fail("mode", "must be push, pull or file");
  }

  const auto only_for = [&](std::string_view key, integration_mode m) {
    if (r.has(key) && it.mode != m) {
      r.fail(key, "applies to mode = \"" + std::string(to_string(m)) + "\" only");
    }
  };
  for (auto key :
       {"base_url", "auth", "api_key_header", "username", "token_url", "scope", "client_cert_file",
        "client_key_file", "ca_file", "timeout_ms", "max_concurrency", "secret", "secret_file",
        "secret_env", "breaker_failures", "breaker_open_ms"}) {
    only_for(key, integration_mode::push);
  }
  only_for("directory", integration_mode::file);

  if (it.mode == integration_mode::push) {
    it.base_url = r.required_string("base_url");
    if (auto why = url_problem(it.base_url); !why.empty()) r.fail("base_url", why);
    const std::string auth = r.string("auth").value_or("none");
    if (auth == "none") {
      it.auth = integration_auth::none;
    } else if (auth == "api_key") {
      it.auth = integration_auth::api_key;
    } else if (auth == "basic") {
      it.auth = integration_auth::basic;
    } else if (auth == "oauth2") {
      it.auth = integration_auth::oauth2;
    } else if (auth == "mtls") {
      it.auth = integration_auth::mtls;
    } else {
      r.fail("auth", "must be none, api_key, basic, oauth2 or mtls");
    }
    it.api_key_header = r.string("api_key_header").value_or("X-API-Key");
    if (it.api_key_header.empty() ||
        !std::all_of(it.api_key_header.begin(), it.api_key_header.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        })) {
      r.fail("api_key_header", "must be an HTTP header name (letters, digits, '-', '_')");
    }
    it.secret = r.secret("secret").value_or("");
    it.username = r.string("username").value_or("");
    it.token_url = r.string("token_url").value_or("");
    it.scope = r.string("scope").value_or("");
    if (auto p = r.existing_file("client_cert_file")) it.client_cert_file = p->string();
    if (auto p = r.existing_file("client_key_file")) it.client_key_file = p->string();
    if (auto p = r.existing_file("ca_file")) it.ca_file = p->string();
    if (it.client_cert_file.empty() != it.client_key_file.empty()) {
      r.fail(it.client_cert_file.empty() ? "client_cert_file" : "client_key_file",
             "client_cert_file and client_key_file go together");
    }
    const auto need = [&](std::string_view key, const std::string& value) {
      if (value.empty()) r.fail(key, "is required with auth = \"" + auth + "\"");
    };
    switch (it.auth) {
      case integration_auth::none:
        break;
      case integration_auth::api_key:
        need("secret", it.secret);
        break;
      case integration_auth::basic:
        need("username", it.username);
        need("secret", it.secret);
        break;
      case integration_auth::oauth2:
        need("username", it.username);
        need("secret", it.secret);
        need("token_url", it.token_url);
        if (auto why = url_problem(it.token_url); !why.empty()) r.fail("token_url", why);
        break;
      case integration_auth::mtls:
        need("client_cert_file", it.client_cert_file);
        break;
    }
    if ((!it.client_cert_file.empty() || !it.ca_file.empty()) &&
        !it.base_url.starts_with("https://")) {
      r.fail(it.client_cert_file.empty() ? "ca_file" : "client_cert_file",
             "TLS files need an https:// base_url");
    }
    it.timeout = std::chrono::milliseconds(
        r.integer("timeout_ms", lim::timeout_ms_min, lim::timeout_ms_max).value_or(5000));
    it.max_concurrency = static_cast<std::size_t>(
        r.integer("max_concurrency", lim::max_concurrency_min, lim::max_concurrency_max)
            .value_or(4));
    it.breaker_failures = static_cast<int>(
        r.integer("breaker_failures", lim::breaker_failures_min, lim::breaker_failures_max)
            .value_or(5));
    it.breaker_open = std::chrono::milliseconds(
        r.integer("breaker_open_ms", lim::breaker_open_ms_min, lim::breaker_open_ms_max)
            .value_or(30000));
  }

  if (it.mode == integration_mode::file) {
    const auto dir = r.path("directory");
    if (!dir) r.fail("directory", "is required with mode = \"file\"");
    std::error_code ec;
    if (!std::filesystem::is_directory(*dir, ec)) {
      r.fail("directory", dir->string() + " is not an existing directory");
    }
    // No trailing separator: files go to <directory>/<entity fiscal code>/.
    it.directory = dir->has_filename() ? dir->string() : dir->parent_path().string();
  }

  if (it.mode != integration_mode::pull) {
    it.max_attempts = static_cast<int>(
        r.integer("max_attempts", lim::max_attempts_min, lim::max_attempts_max).value_or(25));
    if (auto age = r.string("max_age")) {
      const auto d = parse_duration(*age);
      if (!d || d->count() < lim::max_age_s_min || d->count() > lim::max_age_s_max) {
        r.fail("max_age", "must be a duration from 60s to 3650d, like \"90m\", \"72h\" or \"7d\"");
      }
      it.max_age = *d;
    }
    it.backoff_initial = std::chrono::milliseconds(
        r.integer("backoff_initial_ms", lim::backoff_initial_ms_min, lim::backoff_initial_ms_max)
            .value_or(1000));
    it.backoff_max = std::chrono::milliseconds(
        r.integer("backoff_max_ms", lim::backoff_max_ms_min, lim::backoff_max_ms_max)
            .value_or(3'600'000));
    if (it.backoff_max < it.backoff_initial) {
      r.fail("backoff_max_ms", "must not be below backoff_initial_ms");
    }
  } else {
    for (auto key : {"max_attempts", "max_age", "backoff_initial_ms", "backoff_max_ms"}) {
      if (r.has(key)) r.fail(key, "does not apply to mode = \"pull\" (nothing is sent)");
    }
  }

  const std::string state = r.string("state").value_or("active");
  if (state == "active") {
    it.initially_suspended = false;
  } else if (state == "suspended") {
    it.initially_suspended = true;
  } else {
    r.fail("state", "must be active or suspended");
  }
  return it;
}

}  // namespace

void read_integrations(const table_reader& root, const entity_registry& entities,
                       const application_registry& apps, integration_collector& out) {
  if (root.has("integration") && root.node("integration")->is_table()) {
    root.fail("integration",
              "must be an array of tables: write [[integration]], not [integration]");
  }
  const auto tables = root.table_array("integration");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const table_reader r(*tables[i], "integration[" + std::to_string(i) + "]", root.file(),
                         {"id",
                          "entities",
                          "application",
                          "mode",
                          "base_url",
                          "auth",
                          "api_key_header",
                          "secret",
                          "secret_file",
                          "secret_env",
                          "username",
                          "token_url",
                          "scope",
                          "client_cert_file",
                          "client_key_file",
                          "ca_file",
                          "timeout_ms",
                          "max_concurrency",
                          "directory",
                          "max_attempts",
                          "max_age",
                          "backoff_initial_ms",
                          "backoff_max_ms",
                          "breaker_failures",
                          "breaker_open_ms",
                          "state"});
    integration it = read_integration(r, entities, apps);
    const std::string where = root.file().path.string() + ": " + r.key_path("id");
    const auto [seen, inserted] = out.seen_ids.emplace(it.id, where);
    if (!inserted) r.fail("id", "duplicate integration, already defined at " + seen->second);
    // One route per (entity, application): a message must have exactly one destination.
    for (const auto& fc : it.entities) {
      const std::string route =
          fc + " / " + (it.application.empty() ? "(default)" : it.application);
      const auto [prev, fresh] = out.seen_routes.emplace(route, where);
      if (!fresh) {
        r.fail(it.application.empty() ? "entities" : "application",
               "entity " + fc + " already has " +
                   (it.application.empty() ? std::string("a default integration")
                                           : "an integration for application " + it.application) +
                   " at " + prev->second);
      }
    }
    out.items.push_back(std::move(it));
  }
}

}  // namespace pagohub::config::detail
