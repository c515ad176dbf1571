// [nodo]: the client toward pagoPA's Nodo and the old-model RPT push (docs/config-reference.md).
#include <pagohub/config/nodo_settings.hpp>

#include "readers.hpp"

namespace pagohub::config::detail {

namespace {

using ms = std::chrono::milliseconds;

// A base URL: http(s)://host[:port][/path], no credentials, query or fragment.
std::string read_url(const table_reader& r, std::string_view key) {
  auto url = r.string(key);
  if (!url) return {};
  const bool scheme = url->starts_with("https://") || url->starts_with("http://");
  const auto rest = std::string_view(*url).substr(
      url->find("://") == std::string::npos ? 0 : url->find("://") + 3);
  if (!scheme || rest.empty() || rest.front() == '/' ||
      rest.find_first_of("@?# ") != std::string_view::npos) {
    r.fail(key, "must be an http:// or https:// URL without user information, query or fragment");
  }
  return *std::move(url);
}

}  // namespace

nodo_settings read_nodo(const table_reader& root) {
  nodo_settings out;
  const toml::table* t = root.table("nodo");
  if (t == nullptr) return out;
  const table_reader r(*t, "nodo", root.file(),
                       {"nodo_per_pa_url",
                        "node_for_pa_url",
                        "avvisi_digitali_url",
                        "ca_file",
                        "cert_file",
                        "key_file",
                        "password",
                        "password_file",
                        "password_env",
                        "subscription_key",
                        "subscription_key_file",
                        "subscription_key_env",
                        "subscription_key_header",
                        "connect_timeout_ms",
                        "request_timeout_ms",
                        "max_idle_connections",
                        "max_response_bytes",
                        "rpt_push",
                        "rpt_poll_interval_ms",
                        "rpt_max_attempts",
                        "rpt_retry_base_ms",
                        "rpt_retry_max_ms"});
  out.nodo_per_pa_url = read_url(r, "nodo_per_pa_url");
  out.node_for_pa_url = read_url(r, "node_for_pa_url");
  out.avvisi_digitali_url = read_url(r, "avvisi_digitali_url");
  if (auto f = r.existing_file("ca_file")) out.ca_file = f->string();
  if (auto f = r.existing_file("cert_file")) out.cert_file = f->string();
  if (auto f = r.existing_file("key_file")) out.key_file = f->string();
  if (out.cert_file.empty() != out.key_file.empty())
    r.fail(out.cert_file.empty() ? "cert_file" : "key_file",
           "cert_file and key_file go together (the station's client certificate)");
  if (auto p = r.secret("password")) {
    // stPassword (NodoPerPa.wsdl): 8..15 characters.
    if (p->size() < 8 || p->size() > 15) r.fail("password", "must be 8 to 15 characters long");
    out.password = *std::move(p);
  }
  if (auto k = r.secret("subscription_key")) out.subscription_key = *std::move(k);
  if (auto h = r.string("subscription_key_header")) {
    if (h->empty() || h->size() > 64 ||
        h->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
            std::string::npos)
      r.fail("subscription_key_header", "must be an HTTP header name (letters, digits, -, _)");
    out.subscription_key_header = *std::move(h);
  }
  out.connect_timeout =
      ms{r.integer("connect_timeout_ms", 1, 600'000).value_or(out.connect_timeout.count())};
  out.request_timeout =
      ms{r.integer("request_timeout_ms", 1, 3'600'000).value_or(out.request_timeout.count())};
  out.max_idle_connections =
      static_cast<std::size_t>(r.integer("max_idle_connections", 0, 256)
                                   .value_or(static_cast<std::int64_t>(out.max_idle_connections)));
  out.max_response_bytes =
      static_cast<std::size_t>(r.integer("max_response_bytes", 4096, std::int64_t{1} << 30)
                                   .value_or(static_cast<std::int64_t>(out.max_response_bytes)));
  out.rpt_push = r.boolean("rpt_push").value_or(out.rpt_push);
  out.rpt_poll_interval =
      ms{r.integer("rpt_poll_interval_ms", 10, 3'600'000).value_or(out.rpt_poll_interval.count())};
  out.rpt_max_attempts =
      static_cast<int>(r.integer("rpt_max_attempts", 1, 1000).value_or(out.rpt_max_attempts));
  out.rpt_retry_base =
      ms{r.integer("rpt_retry_base_ms", 1, 86'400'000).value_or(out.rpt_retry_base.count())};
  out.rpt_retry_max =
      ms{r.integer("rpt_retry_max_ms", 1, 86'400'000).value_or(out.rpt_retry_max.count())};
  if (out.rpt_retry_max < out.rpt_retry_base)
    r.fail("rpt_retry_max_ms", "must not be less than rpt_retry_base_ms");
  const bool old_model_calls = !out.nodo_per_pa_url.empty() || !out.node_for_pa_url.empty();
  if (old_model_calls && out.password.empty())
    r.fail("password",
           "is required with nodo_per_pa_url or node_for_pa_url (use password_file "
           "or password_env)");
  return out;
}

}  // namespace pagohub::config::detail
