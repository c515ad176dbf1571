// [pap]: the SOAP endpoints pagoPA's Nodo calls (docs/config-reference.md, docs/pagopa.md).
#include <pagohub/config/pap_settings.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "readers.hpp"

namespace pagohub::config::detail {

void read_pap(const table_reader& root, pap_settings& out) {
  const toml::table* t = root.table("pap");
  if (t == nullptr) return;
  const table_reader r(
      *t, "pap", root.file(),
      {"allowed_client_subjects", "shared_secret", "shared_secret_file", "shared_secret_env",
       "shared_secret_header", "duplicate_receipt", "max_body_bytes", "max_depth",
       "demand_due_days", "allow_unauthenticated", "rpt_lock_minutes", "connections"});
  if (auto subjects = r.string_array("allowed_client_subjects")) {
    for (std::size_t i = 0; i < subjects->size(); ++i) {
      if ((*subjects)[i].empty() || (*subjects)[i].size() > 1024) {
        r.fail("allowed_client_subjects[" + std::to_string(i) + "]",
               "must be a certificate subject of 1..1024 characters");
      }
    }
    out.allowed_client_subjects = *std::move(subjects);
  }
  if (auto secret = r.secret("shared_secret")) {
    if (secret->size() < 16) r.fail("shared_secret", "must be at least 16 characters long");
    out.shared_secret = *std::move(secret);
  }
  if (auto header = r.string("shared_secret_header")) {
    const bool token = !header->empty() && header->size() <= 64 &&
                       header->find_first_not_of(
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                           "wxyz0123456789-_") == std::string::npos;
    if (!token)
      r.fail("shared_secret_header", "must be an HTTP header name (letters, digits, -, _)");
    out.shared_secret_header = *std::move(header);
  }
  if (auto dup = r.string("duplicate_receipt")) {
    if (*dup == "ok") {
      out.duplicate_receipt_fault = false;
    } else if (*dup == "fault") {
      out.duplicate_receipt_fault = true;
    } else {
      r.fail("duplicate_receipt", "must be \"ok\" or \"fault\"");
    }
  }
  out.max_body_bytes =
      static_cast<std::size_t>(r.integer("max_body_bytes", 4096, std::int64_t{64} << 20)
                                   .value_or(static_cast<std::int64_t>(out.max_body_bytes)));
  out.max_depth = static_cast<unsigned>(r.integer("max_depth", 12, 1000).value_or(out.max_depth));
  out.allow_unauthenticated = r.boolean("allow_unauthenticated").value_or(false);
  out.demand_due_days =
      static_cast<int>(r.integer("demand_due_days", 1, 3650).value_or(out.demand_due_days));
  out.rpt_lock_minutes =
      static_cast<int>(r.integer("rpt_lock_minutes", 0, 1440).value_or(out.rpt_lock_minutes));
  out.connections = static_cast<int>(r.integer("connections", 1, 256).value_or(out.connections));
}

void check_pap_callers(const table_reader& root, const pap_settings& pap,
                       const std::vector<listener_settings>& listeners) {
  if (!pap.allowed_client_subjects.empty() &&
      std::none_of(listeners.begin(), listeners.end(), [](const listener_settings& l) {
        return l.tls && !l.tls->client_ca_file.empty();
      })) {
    // Not fatal: the configuration may be prepared before the certificates are. But every
    // SOAP call would be refused, so it must not go unnoticed.
    spdlog::warn(
        "{}: pap.allowed_client_subjects is set but no listener asks for client certificates "
        "(tls_client_ca_file): every call to the SOAP endpoints will be refused",
        root.file().path.string());
  }
  if (!pap.allowed_client_subjects.empty() || !pap.shared_secret.empty() ||
      pap.allow_unauthenticated)
    return;
  // Every listener serves the SOAP routes. Loopback is reachable from this machine only (a
  // local proxy in front, the tests); an mTLS listener admits only certificates of its CA.
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    const auto& l = listeners[i];
    const bool loopback = l.address.starts_with("127.") || l.address == "::1";
    const bool mtls = l.tls && !l.tls->client_ca_file.empty();
    if (loopback || mtls) continue;
    root.fail("pap", "listener[" + std::to_string(i) + "] (\"" + l.name + "\" on " + l.address +
                         ") would let anyone call the SOAP endpoints the Nodo calls: set "
                         "[pap] allowed_client_subjects or shared_secret, require client "
                         "certificates on that listener (tls_client_ca_file), or set "
                         "[pap] allow_unauthenticated = true to accept it");
  }
}

}  // namespace pagohub::config::detail
