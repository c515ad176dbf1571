// Runtime overrides of integration settings (include/pagohub/config/integration_override.hpp):
// the checks the configuration reader makes, applied to what an admin changes, and one of their
// own: the configured credentials stay with the configured host and port, and on TLS.
#include <pagohub/config/integration.hpp>
#include <pagohub/core/http_url.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace pagohub::config {

namespace lim = integration_limits;

std::string integration_url_problem(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return "must start with http:// or https://";
  }
  const auto authority = rest.substr(0, rest.find('/'));
  if (authority.empty()) return "has no host";
  if (authority.find('@') != std::string_view::npos) {
    return "must not carry user information: put credentials in secret/username";
  }
  if (rest.find_first_of("?#") != std::string_view::npos) return "must not have a query";
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return "must not contain spaces or control characters";
  }
  // What the clients will parse (a port, an IPv6 literal): a URL accepted here and refused
  // there would stop the integration's deliveries with nothing but a log line to say why.
  std::string why;
  if (!core::parse_url(url, why)) return why;
  return {};
}

std::optional<std::chrono::seconds> parse_integration_duration(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  const char unit = s.back();
  s.remove_suffix(1);
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      s.size() > 9) {
    return std::nullopt;
  }
  const std::int64_t n = std::stoll(std::string(s));
  switch (unit) {
    case 's':
      return std::chrono::seconds(n);
    case 'm':
      return std::chrono::seconds(n * 60);
    case 'h':
      return std::chrono::seconds(n * 3600);
    case 'd':
      return std::chrono::seconds(n * 86400);
    default:
      return std::nullopt;
  }
}

std::string format_integration_duration(std::chrono::seconds s) {
  const auto n = s.count();
  if (n != 0 && n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n != 0 && n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n != 0 && n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

bool integration_override::empty() const noexcept {
  return !mode && !base_url && !directory && !timeout && !max_concurrency && !max_attempts &&
         !max_age && !backoff_initial && !backoff_max && !breaker_failures && !breaker_open;
}

namespace {

// Where a base URL sends its requests: the scheme and the authority. The URL has passed
// integration_url_problem().
struct url_origin {
  bool https = false;
  std::string host;  // lower case; an IPv6 literal keeps its brackets
  std::string port;  // empty for the scheme's default port
};

url_origin origin_of(std::string_view url) {
  url_origin o;
  o.https = url.starts_with("https://");
  const auto rest = url.substr(o.https ? 8 : 7);
  const auto authority = rest.substr(0, rest.find('/'));
  const auto close = authority.starts_with('[') ? authority.find(']') : std::string_view::npos;
  const auto colon = authority.find(':', close == std::string_view::npos ? 0 : close);
  o.host = std::string(authority.substr(0, colon));
  std::transform(o.host.begin(), o.host.end(), o.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (colon != std::string_view::npos) o.port = std::string(authority.substr(colon + 1));
  // "https://bo:443" and "https://bo" are the same place, as are "http://bo:80" and "http://bo":
  // moving from one to the other is no move.
  o.port.erase(0, std::min(o.port.find_first_not_of('0'), o.port.size()));
  if (o.port.empty() || o.port == (o.https ? "443" : "80")) o.port.clear();
  return o;
}

std::string authority_of(const url_origin& o) {
  return o.port.empty() ? o.host : o.host + ":" + o.port;
}

std::string between(std::int64_t min, std::int64_t max, std::int64_t is) {
  return "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (is " +
         std::to_string(is) + ")";
}

}  // namespace

std::vector<override_problem> check_override(const integration& configured,
                                             const integration_override& o, bool check_files) {
  std::vector<override_problem> out;
  const auto fail = [&](std::string key, std::string message) {
    out.push_back({std::move(key), std::move(message)});
  };
  const auto range = [&](const char* key, std::int64_t v, std::int64_t min, std::int64_t max) {
    if (v < min || v > max) fail(key, between(min, max, v));
  };
  const integration_mode mode = o.mode.value_or(configured.mode);
  const auto mode_name = std::string(to_string(mode));
  const auto only_for = [&](const char* key, bool set, integration_mode m) {
    if (set && mode != m) {
      fail(key, "applies to mode \"" + std::string(to_string(m)) + "\" only (the mode is \"" +
                    mode_name + "\")");
    }
  };

  // An on-demand lookup is a GET on the integration's base URL (docs/integration.md
  // "On-demand positions"): a service looking up through it keeps it push. Checked here, so that
  // an override set before the configuration gave the integration its lookups is ignored then.
  if (mode != integration_mode::push && !configured.lookup_of.empty()) {
    fail("mode", "must stay \"push\": " + configured.lookup_of +
                     " looks up its positions through this integration");
  }

  // push: the endpoint and its client
  only_for("base_url", o.base_url.has_value(), integration_mode::push);
  only_for("timeout_ms", o.timeout.has_value(), integration_mode::push);
  only_for("max_concurrency", o.max_concurrency.has_value(), integration_mode::push);
  only_for("breaker_failures", o.breaker_failures.has_value(), integration_mode::push);
  only_for("breaker_open_ms", o.breaker_open.has_value(), integration_mode::push);
  if (o.base_url) {
    if (auto why = integration_url_problem(*o.base_url); !why.empty()) fail("base_url", why);
    if ((!configured.client_cert_file.empty() || !configured.ca_file.empty()) &&
        !o.base_url->starts_with("https://")) {
      fail("base_url", "must be https://: the configuration names TLS files for this integration");
    }
    // The configured credentials go wherever base_url points, and the answer is partly kept
    // and shown to operators. An admin's runtime change must not redirect them to another
    // server, nor strip their TLS: where credentials may go is the configuration's to say.
    if (mode == integration_mode::push && configured.auth != integration_auth::none &&
        !configured.base_url.empty() && integration_url_problem(*o.base_url).empty()) {
      const auto was = origin_of(configured.base_url);
      const auto is = origin_of(*o.base_url);
      const std::string auth = "auth = \"" + std::string(to_string(configured.auth)) + "\"";
      if (was.https && !is.https) {
        fail("base_url", "must stay https://: the configuration sends credentials (" + auth +
                             ") to this integration, and they must not travel in clear text");
      }
      if (was.host != is.host || was.port != is.port) {
        fail("base_url", "must keep the configured host and port (" + authority_of(was) +
                             "): the configuration sends credentials (" + auth +
                             ") to this integration; to send them to " + authority_of(is) +
                             ", change base_url in the configuration file");
      }
    }
  }
  if (mode == integration_mode::push && o.base_url.value_or(configured.base_url).empty()) {
    fail("base_url", "is required with mode = \"push\"");
  }
  if (o.timeout) {
    range("timeout_ms", o.timeout->count(), lim::timeout_ms_min, lim::timeout_ms_max);
  }
  if (o.max_concurrency) {
    range("max_concurrency", *o.max_concurrency, lim::max_concurrency_min,
          lim::max_concurrency_max);
  }
  if (o.breaker_failures) {
    range("breaker_failures", *o.breaker_failures, lim::breaker_failures_min,
          lim::breaker_failures_max);
  }
  if (o.breaker_open) {
    range("breaker_open_ms", o.breaker_open->count(), lim::breaker_open_ms_min,
          lim::breaker_open_ms_max);
  }

  // file
  only_for("directory", o.directory.has_value(), integration_mode::file);
  if (o.directory) {
    const std::filesystem::path dir(*o.directory);
    if (!dir.is_absolute()) {
      fail("directory", "must be an absolute path");
    } else if (check_files) {
      std::error_code ec;
      if (!std::filesystem::is_directory(dir, ec))
        fail("directory", "is not an existing directory");
    }
  }
  if (mode == integration_mode::file && o.directory.value_or(configured.directory).empty()) {
    fail("directory", "is required with mode = \"file\"");
  }

  // retries (push and file)
  const auto not_pull = [&](const char* key, bool set) {
    if (set && mode == integration_mode::pull) {
      fail(key, "does not apply to mode = \"pull\" (nothing is sent)");
    }
  };
  not_pull("max_attempts", o.max_attempts.has_value());
  not_pull("max_age", o.max_age.has_value());
  not_pull("backoff_initial_ms", o.backoff_initial.has_value());
  not_pull("backoff_max_ms", o.backoff_max.has_value());
  if (o.max_attempts) {
    range("max_attempts", *o.max_attempts, lim::max_attempts_min, lim::max_attempts_max);
  }
  if (o.max_age &&
      (o.max_age->count() < lim::max_age_s_min || o.max_age->count() > lim::max_age_s_max)) {
    fail("max_age", "must be a duration from 60s to 3650d, like \"90m\", \"72h\" or \"7d\"");
  }
  if (o.backoff_initial) {
    range("backoff_initial_ms", o.backoff_initial->count(), lim::backoff_initial_ms_min,
          lim::backoff_initial_ms_max);
  }
  if (o.backoff_max) {
    range("backoff_max_ms", o.backoff_max->count(), lim::backoff_max_ms_min,
          lim::backoff_max_ms_max);
  }
  if ((o.backoff_initial || o.backoff_max) &&
      o.backoff_max.value_or(configured.backoff_max) <
          o.backoff_initial.value_or(configured.backoff_initial)) {
    fail(o.backoff_max ? "backoff_max_ms" : "backoff_initial_ms",
         "backoff_max_ms must not be below backoff_initial_ms (" +
             std::to_string(o.backoff_max.value_or(configured.backoff_max).count()) + " < " +
             std::to_string(o.backoff_initial.value_or(configured.backoff_initial).count()) + ")");
  }
  return out;
}

integration apply_override(const integration& configured, const integration_override& o) {
  integration it = configured;
  if (o.mode) it.mode = *o.mode;
  if (o.base_url) it.base_url = *o.base_url;
  if (o.directory) it.directory = *o.directory;
  if (o.timeout) it.timeout = *o.timeout;
  if (o.max_concurrency) it.max_concurrency = static_cast<std::size_t>(*o.max_concurrency);
  if (o.max_attempts) it.max_attempts = static_cast<int>(*o.max_attempts);
  if (o.max_age) it.max_age = *o.max_age;
  if (o.backoff_initial) it.backoff_initial = *o.backoff_initial;
  if (o.backoff_max) it.backoff_max = *o.backoff_max;
  if (o.breaker_failures) it.breaker_failures = static_cast<int>(*o.breaker_failures);
  if (o.breaker_open) it.breaker_open = *o.breaker_open;
  // What a configuration of that mode would hold: no endpoint outside push (so no client and
  // no on-demand lookup), no directory outside file.
  if (it.mode != integration_mode::push) it.base_url.clear();
  if (it.mode != integration_mode::file) it.directory.clear();
  return it;
}

}  // namespace pagohub::config
