#include <pagohub/journal/record.hpp>

#include <pqxx/pqxx>

#include "compress.hpp"
#include "storage.hpp"

namespace pagohub::journal {

payload_rules::payload_rules(const config::journal_settings& settings)
    : settings_(settings), redactor_(settings.personal_data_fields) {}

const payload_rules& payload_rules::defaults() {
  static const payload_rules rules{config::journal_settings{}};
  return rules;
}

bool payload_rules::prepare_would_keep(const event& e) const {
  if (!e.message) return false;
  switch (settings_.policy_for(to_string(e.interface))) {
    case config::payload_policy::never:
      return false;
    case config::payload_policy::on_error:
      return e.is_error();
    case config::payload_policy::always:
      return true;
  }
  return false;
}

std::optional<stored_payload> payload_rules::prepare(const event& e) const {
  if (!prepare_would_keep(e)) return std::nullopt;
  const auto& m = *e.message;
  stored_payload p;
  p.content_type = detail::cut(m.content_type, 255);
  p.headers = detail::cut(redactor_.redact_headers(m.headers), 16384);
  std::string body;
  if (m.body.size() > settings_.payload_max_bytes) {
    body = "[" + std::to_string(m.body.size()) +
           " bytes not stored: larger than payload_max_bytes (" +
           std::to_string(settings_.payload_max_bytes) + ")]";
  } else {
    body = redactor_.redact_body(m.content_type, m.body);
  }
  p.original_bytes = static_cast<std::int64_t>(body.size());
  p.body = detail::compress(body);
  return p;
}

std::int64_t record_internal(pqxx::transaction_base& w, const event& e,
                             const payload_rules& rules) {
  detail::prepared_event p;
  p.payload = rules.prepare(e);
  p.row = detail::normalise(e, std::chrono::system_clock::now(), p.payload);
  detail::insert_one(w, p);
  return p.row.id;
}

std::vector<std::int64_t> record_internal_many(pqxx::transaction_base& w,
                                               const std::vector<event>& events,
                                               const payload_rules& rules) {
  std::vector<detail::prepared_event> batch;
  batch.reserve(events.size());
  const auto now = std::chrono::system_clock::now();
  for (const auto& e : events) {
    detail::prepared_event p;
    p.payload = rules.prepare(e);
    p.row = detail::normalise(e, now, p.payload);
    batch.push_back(std::move(p));
  }
  detail::copy_many(w, batch);
  std::vector<std::int64_t> ids;
  ids.reserve(batch.size());
  for (const auto& p : batch) ids.push_back(p.row.id);
  return ids;
}

}  // namespace pagohub::journal
