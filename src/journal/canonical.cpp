#include <pagohub/journal/canonical.hpp>

#include <pagohub/core/utc_time.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace pagohub::journal {
namespace {

void put_null(std::string& out) {
  out.push_back('\0');
}

void put(std::string& out, std::string_view value) {
  const auto n = static_cast<std::uint32_t>(value.size());
  out.push_back('\x01');
  out.push_back(static_cast<char>((n >> 24) & 0xFF));
  out.push_back(static_cast<char>((n >> 16) & 0xFF));
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  out.push_back(static_cast<char>(n & 0xFF));
  out.append(value);
}

void put(std::string& out, const std::optional<std::string>& value) {
  if (value) {
    put(out, std::string_view(*value));
  } else {
    put_null(out);
  }
}

void put(std::string& out, std::int64_t value) {
  put(out, std::string_view(std::to_string(value)));
}

void put(std::string& out, const std::optional<std::int64_t>& value) {
  if (value) {
    put(out, *value);
  } else {
    put_null(out);
  }
}

}  // namespace

digest sha256(std::string_view bytes) {
  digest d{};
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &n, EVP_sha256(), nullptr) != 1 ||
      n != d.size())
    throw std::runtime_error("SHA-256 failed");
  return d;
}

std::string canonical_content(const stored_event& e) {
  std::string out = "pagohub-journal-event-v1";
  out.reserve(512);
  put(out, e.id);
  put(out, e.time_us);
  put(out, std::string_view(e.category));
  put(out, e.entity_fc);
  put(out, e.iuv);
  put(out, e.ccp);
  put(out, e.psp_id);
  put(out, e.payment_type);
  put(out, std::string_view(e.component));
  put(out, std::string_view(e.event_type));
  put(out, std::string_view(e.event_subtype));
  put(out, std::string_view(e.caller_id));
  put(out, std::string_view(e.provider_id));
  put(out, e.station_id);
  put(out, e.channel_id);
  put(out, e.interface_params);
  put(out, e.outcome);
  put(out, e.request_id);
  put(out, e.notice_number);
  put(out, std::string_view(e.actor_kind));
  put(out, std::string_view(e.actor_id));
  put(out, e.duration_ms);
  put(out, e.http_status);
  put(out, e.fault_code);
  put(out, std::string_view(e.interface));
  if (e.payload_sha256) {
    put(out, std::string_view(to_hex(*e.payload_sha256)));
  } else {
    put_null(out);
  }
  return out;
}

digest payload_digest(const stored_payload& p) {
  std::string out = "pagohub-journal-payload-v1";
  out.reserve(p.body.size() + p.headers.size() + 64);
  put(out, std::string_view(p.content_type));
  put(out, p.original_bytes);
  put(out, std::string_view(p.headers));
  put(out, std::string_view(p.body));
  return sha256(out);
}

digest genesis_link(int year, unsigned month) {
  char text[32];
  std::snprintf(text, sizeof text, "pagohub journal %04d-%02u", year, month);
  return sha256(text);
}

digest chain_link(const digest& previous, std::string_view canonical) {
  std::string buffer;
  buffer.reserve(previous.size() + canonical.size());
  buffer.append(reinterpret_cast<const char*>(previous.data()), previous.size());
  buffer.append(canonical);
  return sha256(buffer);
}

std::string to_hex(const digest& d) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(d.size() * 2, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 0x0F];
  }
  return out;
}

std::string format_time_us(std::int64_t time_us, int fraction_digits) {
  return core::format_utc(
      std::chrono::sys_time<std::chrono::microseconds>{std::chrono::microseconds(time_us)},
      fraction_digits);
}

}  // namespace pagohub::journal
