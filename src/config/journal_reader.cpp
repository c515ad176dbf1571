// [journal] and [journal.payload_policy]: docs/config-reference.md, docs/journal.md.
#include <pagohub/config/journal_settings.hpp>

#include <algorithm>
#include <cctype>

#include "readers.hpp"

namespace pagohub::config {

std::string_view to_string(payload_policy p) noexcept {
  switch (p) {
    case payload_policy::always:
      return "always";
    case payload_policy::on_error:
      return "on_error";
    case payload_policy::never:
      return "never";
  }
  return "?";
}

payload_policy journal_settings::policy_for(std::string_view interface) const {
  if (auto it = payload_policies.find(interface); it != payload_policies.end()) return it->second;
  if (auto it = payload_policies.find("default"); it != payload_policies.end()) return it->second;
  return payload_policy::on_error;
}

namespace detail {
namespace {

void read_payload_policy(const table_reader& journal, journal_settings& out) {
  const toml::table* t = journal.table("payload_policy");
  if (t == nullptr) return;
  const table_reader r(
      *t, "journal.payload_policy", journal.file(),
      {"default", "rest", "soap_pa", "soap_nodo", "webhook", "import", "internal"});
  for (auto&& [key, node] : *t) {
    const auto value = r.string(key.str());
    payload_policy p = payload_policy::on_error;
    if (*value == "always") {
      p = payload_policy::always;
    } else if (*value == "on_error") {
      p = payload_policy::on_error;
    } else if (*value == "never") {
      p = payload_policy::never;
    } else {
      r.fail(key.str(), "must be always, on_error or never");
    }
    out.payload_policies[std::string(key.str())] = p;
  }
}

}  // namespace

void read_journal(const table_reader& root, journal_settings& out) {
  const toml::table* t = root.table("journal");
  if (t == nullptr) return;
  const table_reader r(
      *t, "journal", root.file(),
      {"enabled_interfaccia", "queue_capacity", "queue_max_bytes", "flush_interval_ms",
       "batch_size", "retention_months", "payload_retention_months", "months_ahead",
       "payload_max_bytes", "seal_interval_s", "payload_policy", "personal_data_fields"});
  using ms = std::chrono::milliseconds;
  const auto size = [](std::int64_t v) { return static_cast<std::size_t>(v); };
  out.enabled_interfaccia = r.boolean("enabled_interfaccia").value_or(out.enabled_interfaccia);
  out.queue_capacity = size(r.integer("queue_capacity", 16, 10'000'000)
                                .value_or(static_cast<std::int64_t>(out.queue_capacity)));
  out.queue_max_bytes = size(r.integer("queue_max_bytes", 1 << 20, std::int64_t{1} << 34)
                                 .value_or(static_cast<std::int64_t>(out.queue_max_bytes)));
  out.flush_interval =
      ms{r.integer("flush_interval_ms", 1, 60'000).value_or(out.flush_interval.count())};
  out.batch_size =
      size(r.integer("batch_size", 1, 100'000).value_or(static_cast<std::int64_t>(out.batch_size)));
  out.retention_months =
      static_cast<int>(r.integer("retention_months", 1, 1200).value_or(out.retention_months));
  out.payload_retention_months = static_cast<int>(
      r.integer("payload_retention_months", 0, 1200).value_or(out.payload_retention_months));
  if (out.payload_retention_months > out.retention_months) {
    r.fail(r.has("payload_retention_months") ? "payload_retention_months" : "retention_months",
           "payloads cannot outlive their events: payload_retention_months (" +
               std::to_string(out.payload_retention_months) +
               ") must not exceed retention_months (" + std::to_string(out.retention_months) + ")");
  }
  out.months_ahead = static_cast<int>(r.integer("months_ahead", 1, 24).value_or(out.months_ahead));
  out.payload_max_bytes = size(r.integer("payload_max_bytes", 0, std::int64_t{1} << 30)
                                   .value_or(static_cast<std::int64_t>(out.payload_max_bytes)));
  out.seal_interval = std::chrono::seconds{
      r.integer("seal_interval_s", 1, 3600).value_or(out.seal_interval.count())};
  read_payload_policy(r, out);
  if (auto fields = r.string_array("personal_data_fields")) {
    for (std::size_t i = 0; i < fields->size(); ++i) {
      const auto& f = (*fields)[i];
      const bool plain = std::all_of(f.begin(), f.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-' || c == '.';
      });
      if (!plain || f.size() > 64) {
        r.fail("personal_data_fields[" + std::to_string(i) + "]",
               "must be a field name: up to 64 letters, digits, '_', '-' or '.'");
      }
    }
    out.personal_data_fields = *std::move(fields);
  }
}

}  // namespace detail
}  // namespace pagohub::config
