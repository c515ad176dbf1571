// [nodo]: the client toward pagoPA's Nodo and the old-model RPT push (docs/config-reference.md).
#include <pagohub/config/nodo_settings.hpp>

#include <algorithm>

#include <spdlog/spdlog.h>

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

// A station password, given as `password`, `password_file` or `password_env`.
std::optional<std::string> read_password(const table_reader& r) {
  auto p = r.secret("password");
  // stPassword (NodoPerPa.wsdl): 8..15 characters.
  if (p && (p->size() < 8 || p->size() > 15)) r.fail("password", "must be 8 to 15 characters long");
  return p;
}

bool old_model_calls(const nodo_settings& n) {
  return !n.nodo_per_pa_url.empty() || !n.node_for_pa_url.empty();
}

// [[nodo.station]]: the password of a station other than the one [nodo] password is for. The
// id is only checked for its form: the station may belong to another broker than [daemon]'s,
// as an entity's may.
void read_stations(const table_reader& nr, nodo_settings& out) {
  const auto tables = nr.table_array("station");
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const table_reader r(*tables[i], nr.key_path("station[" + std::to_string(i) + "]"), nr.file(),
                         {"station_id", "password", "password_file", "password_env"});
    std::string id = r.required_string("station_id");
    if (auto problem = station_id_problem(id, ""); !problem.empty()) r.fail("station_id", problem);
    if (const auto it = std::find(ids.begin(), ids.end(), id); it != ids.end()) {
      r.fail("station_id", "duplicate station, already listed as " +
                               nr.key_path("station[" + std::to_string(it - ids.begin()) + "]"));
    }
    auto password = read_password(r);
    if (!password) r.fail("password", "is required (or password_file, password_env)");
    ids.push_back(id);
    out.station_passwords.emplace(std::move(id), *std::move(password));
  }
}

}  // namespace

std::string station_password_problem(const nodo_settings& nodo, std::string_view station_id) {
  // The Nodo authenticates every old-model call by the station's password (stPassword,
  // NodoPerPa.wsdl): a station without one would have each call refused (PPT_AUTENTICAZIONE).
  if (!old_model_calls(nodo) || !nodo.password_for(station_id).empty()) return {};
  return "station " + std::string(station_id) +
         " has no password for the Nodo (nodo_per_pa_url or node_for_pa_url is set): give it a "
         "[[nodo.station]] entry or set [nodo] password";
}

void warn_unused_stations(const source_file& main, const nodo_settings& nodo,
                          const daemon_settings& daemon, const std::vector<entity>& entities) {
  // Not refused: the entries may be written before the entities that will use them, and the
  // entities are reloaded without a restart while [nodo] is not.
  for (const auto& entry : nodo.station_passwords) {
    const std::string& id = entry.first;
    const bool used =
        id == daemon.station_id || std::any_of(entities.begin(), entities.end(),
                                               [&](const entity& e) { return e.station_id == id; });
    if (!used) {
      spdlog::warn(
          "{}: nodo.station: station {} is neither [daemon] station_id nor the station of any "
          "entity; its password is not used",
          main.path.string(), id);
    }
  }
}

nodo_settings read_nodo(const table_reader& root, const daemon_settings& daemon) {
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
                        "rpt_retry_max_ms",
                        "station"});
  out.nodo_per_pa_url = read_url(r, "nodo_per_pa_url");
  out.node_for_pa_url = read_url(r, "node_for_pa_url");
  out.avvisi_digitali_url = read_url(r, "avvisi_digitali_url");
  if (auto f = r.existing_file("ca_file")) out.ca_file = f->string();
  if (auto f = r.existing_file("cert_file")) out.cert_file = f->string();
  if (auto f = r.existing_file("key_file")) out.key_file = f->string();
  if (out.cert_file.empty() != out.key_file.empty())
    r.fail(out.cert_file.empty() ? "cert_file" : "key_file",
           "cert_file and key_file go together (the station's client certificate)");
  if (auto p = read_password(r)) out.password = *std::move(p);
  read_stations(r, out);
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
  // The stations the old-model calls go out under: [daemon]'s here, each entity's where the
  // entities are read (so that a reload is checked too).
  if (!daemon.station_id.empty() && !station_password_problem(out, daemon.station_id).empty())
    r.fail("password", "is required with nodo_per_pa_url or node_for_pa_url for station " +
                           daemon.station_id +
                           " ([daemon] station_id), unless a [[nodo.station]] entry gives its "
                           "own (use password_file or password_env)");
  return out;
}

}  // namespace pagohub::config::detail
