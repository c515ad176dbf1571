// `pagohubd check-config` output. Secrets stay out: the conninfo goes through redact_conninfo.
#include <pagohub/config/config.hpp>

#include <set>
#include <sstream>

namespace pagohub::config {
namespace {

constexpr std::string_view masked = "***";

// libpq's keywords whose values are secrets: the server password and the client key's
// passphrase.
bool secret_keyword(std::string_view key) {
  return key == "password" || key == "sslpassword";
}

bool starts_with_uri(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// URI form: postgresql://user:secret@host/db?password=secret&...
std::string redact_uri(std::string_view uri) {
  std::string out(uri);
  const auto scheme_end = out.find("://") + 3;
  const auto authority_end = out.find_first_of("/?", scheme_end);
  const auto at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
  if (at != std::string::npos && at >= scheme_end) {
    const auto colon = out.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, masked);
    }
  }
  const auto query = out.find('?');
  if (query == std::string::npos) return out;
  std::size_t pos = query + 1;
  while (pos < out.size()) {
    auto end = out.find('&', pos);
    if (end == std::string::npos) end = out.size();
    const auto eq = out.find('=', pos);
    if (eq != std::string::npos && eq < end &&
        secret_keyword(std::string_view(out).substr(pos, eq - pos))) {
      out.replace(eq + 1, end - eq - 1, masked);
      end = eq + 1 + masked.size();
    }
    pos = end + 1;
  }
  return out;
}

// key=value form (libpq "Keyword/Value Connection Strings"): values may be single-quoted with
// backslash escapes. Anything that does not parse is masked whole rather than guessed at.
std::string redact_keywords(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  const auto skip_space = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  };
  while (true) {
    skip_space();
    if (i >= s.size()) break;
    const auto key_start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ' ' && s[i] != '\t') ++i;
    const std::string_view key = s.substr(key_start, i - key_start);
    skip_space();
    if (i >= s.size() || s[i] != '=' || key.empty()) return std::string(masked);
    ++i;
    skip_space();
    const auto value_start = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') i += (s[i] == '\\') ? 2 : 1;
      if (i >= s.size()) return std::string(masked);
      ++i;
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') ++i;
    }
    if (!out.empty()) out += ' ';
    out += key;
    out += '=';
    out += secret_keyword(key) ? masked : s.substr(value_start, i - value_start);
  }
  return out;
}

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

std::string two_digits(int n) {
  return (n < 10 ? "0" : "") + std::to_string(n);
}

}  // namespace

std::string redact_conninfo(std::string_view conninfo) {
  return starts_with_uri(conninfo) ? redact_uri(conninfo) : redact_keywords(conninfo);
}

std::string describe(const config& cfg) {
  const auto& d = cfg.daemon;
  std::ostringstream out;
  out << "configuration " << cfg.file.string() << "\n";
  out << "daemon: io_threads "
      << (d.io_threads == 0 ? std::string("auto") : std::to_string(d.io_threads)) << ", station "
      << (d.station_id.empty() ? "-" : d.station_id) << ", broker "
      << (d.broker_id.empty() ? "-" : d.broker_id) << "\n";
  for (const auto& l : d.listeners) {
    out << "listener " << l.name << ": " << l.address << ":" << l.port;
    if (!l.tls) {
      out << " plain HTTP";
    } else {
      out << " TLS cert " << l.tls->cert_file << " key " << l.tls->key_file;
      if (!l.tls->client_ca_file.empty()) {
        out << ", client certificates from " << l.tls->client_ca_file;
        if (l.tls->allowed_client_subjects.empty()) {
          out << " (any subject)";
        } else {
          const auto n = l.tls->allowed_client_subjects.size();
          out << " (" << n << (n == 1 ? " allowed subject)" : " allowed subjects)");
        }
      }
    }
    out << "\n";
  }
  out << "db: " << redact_conninfo(d.db.conninfo) << "; pool " << d.db.pool_size << " (and "
      << d.pap.connections
      << " for the Nodo's calls, 1 for the journal's writer), statement timeout "
      << ms(d.db.statement_timeout) << ", connect timeout " << ms(d.db.connect_timeout)
      << ", migrate on start " << (d.db.migrate_on_start ? "yes" : "no") << "\n";
  out << "limits: body " << d.limits.max_body_bytes << " B, headers " << d.limits.max_header_bytes
      << " B, deadline " << ms(d.limits.request_deadline) << ", shutdown grace "
      << ms(d.limits.shutdown_grace) << ", connections " << d.limits.max_connections
      << " (per address "
      << (d.limits.max_connections_per_address > 0
              ? std::to_string(d.limits.max_connections_per_address)
              : std::string("no cap"))
      << "), idle timeout " << ms(d.limits.idle_timeout) << "\n";
  out << "logging: level " << d.logging.level << ", format " << d.logging.format << ", access log "
      << (d.logging.access_log ? "on" : "off") << "\n";
  out << "paths: web " << d.paths.web_root << ", sql " << d.paths.sql_dir << ", entities "
      << (d.paths.entities_dir.empty() ? "-" : d.paths.entities_dir) << "\n";
  out << "api: rate " << d.api.rate_per_second << "/s, burst " << d.api.burst
      << ", creates in batches of up to " << d.api.create_batch_size << ", "
      << d.api.create_batches_in_flight << " at once\n";
  const auto& j = d.journal;
  out << "journal: interfaccia " << (j.enabled_interfaccia ? "on" : "off") << ", queue "
      << j.queue_capacity << ", flush " << ms(j.flush_interval) << ", batch " << j.batch_size
      << ", retention " << j.retention_months << " months (payloads " << j.payload_retention_months
      << "), " << j.months_ahead << " months ahead\n";
  out << "imports: max upload " << d.imports.max_upload_bytes << " B, workers " << d.imports.workers
      << ", upload connections " << d.imports.upload_connections << ", spool "
      << (d.imports.spool_dir.empty() ? "(system temporary directory)" : d.imports.spool_dir)
      << "\n";
  out << "outbox: delivered and dead messages kept "
      << (d.outbox.retention_days > 0 ? std::to_string(d.outbox.retention_days) + " days"
                                      : std::string("for ever"))
      << "\n";
  if (!d.paths.applications_dir.empty())
    out << "applications dir: " << d.paths.applications_dir << "\n";
  // [nodo]: where the station calls pagoPA, never its password or subscription key.
  const auto& n = cfg.nodo;
  const auto url_or_dash = [](const std::string& u) { return u.empty() ? std::string("-") : u; };
  out << "nodo: NodoPerPa " << url_or_dash(n.nodo_per_pa_url) << ", nodeForPa "
      << url_or_dash(n.node_for_pa_url) << ", client certificate "
      << (n.cert_file.empty() ? std::string("none") : n.cert_file) << ", password "
      << (n.password.empty() ? "unset" : "set") << ", RPT push "
      << (n.rpt_push && !n.nodo_per_pa_url.empty() ? "on" : "off") << "\n";
  // Every station that calls the Nodo (or has an entry): whether it has a password to send,
  // its own or [nodo]'s.
  std::set<std::string, std::less<>> stations;
  if (!n.nodo_per_pa_url.empty() || !n.node_for_pa_url.empty()) {
    if (!d.station_id.empty()) stations.insert(d.station_id);
    if (cfg.entities) {
      for (const auto& e : cfg.entities->all()) stations.insert(e.station_id);
    }
  }
  for (const auto& entry : n.station_passwords) stations.insert(entry.first);
  for (const auto& id : stations) {
    out << "  station " << id << ": password "
        << (n.station_passwords.contains(id) ? "set (own)"
            : n.password.empty()             ? "unset"
                                             : "set ([nodo])")
        << "\n";
  }
  const auto& entities = cfg.entities ? cfg.entities->all() : std::vector<entity>{};
  out << "entities: " << entities.size() << "\n";
  for (const auto& e : entities) {
    out << "  " << e.fiscal_code.str() << " " << e.name << (e.enabled ? "" : " (disabled)")
        << ": aux " << e.aux_digit << ", "
        << (e.aux_digit == 3 ? "segregation " + two_digits(e.segregation_code)
                             : "application " + two_digits(e.application_code))
        << ", station " << e.station_id << ", broker " << e.broker_id << "\n";
    for (const auto& i : e.ibans) {
      out << "    iban " << i.value.str() << (i.postal ? " (postal)" : "")
          << (i.description.empty() ? "" : " " + i.description) << "\n";
    }
    if (!e.postal_account.empty()) out << "    postal account " << e.postal_account << "\n";
    for (const auto& s : e.services) {
      out << "    service " << s.code << " " << s.taxonomy << (s.spontaneous ? " spontaneous" : "")
          << (s.expires_after_due_date ? " expires" : "") << ": " << s.description << "\n";
    }
  }
  // Applications: the key digests are not secrets, but counting them is all operators need.
  const auto& apps = cfg.applications ? cfg.applications->all() : std::vector<application>{};
  out << "applications: " << apps.size() << "\n";
  for (const auto& a : apps) {
    out << "  " << a.id << " " << a.name << ": role " << to_string(a.role) << ", entities";
    for (const auto& fc : a.entities) out << " " << fc;
    out << ", services";
    if (a.services.empty()) out << " (all)";
    for (const auto& code : a.services) out << " " << code;
    out << ", " << a.key_hashes.size() << (a.key_hashes.size() == 1 ? " key" : " keys") << ", rate "
        << a.rate_per_second << "/s burst " << a.burst << "\n";
  }
  // Integrations: the secret is never shown, only which auth kind is used.
  const auto& integrations =
      cfg.integrations ? cfg.integrations->all() : std::vector<integration>{};
  out << "integrations: " << integrations.size() << "\n";
  for (const auto& i : integrations) {
    out << "  " << i.id << ": " << to_string(i.mode) << ", entities";
    for (const auto& fc : i.entities) out << " " << fc;
    out << ", application " << (i.application.empty() ? "(default)" : i.application);
    if (i.mode == integration_mode::push) {
      out << ", " << i.base_url << " auth " << to_string(i.auth);
    }
    if (i.mode == integration_mode::file) out << ", directory " << i.directory;
    if (i.initially_suspended) out << ", suspended";
    out << "\n";
  }
  return out.str();
}

}  // namespace pagohub::config
