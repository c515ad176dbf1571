#include <pagohub/core/http_url.hpp>

#include <algorithm>

namespace pagohub::core {

std::optional<parsed_url> parse_url(std::string_view url, std::string& why) {
  parsed_url out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    why = "must start with http:// or https://";
    return std::nullopt;
  }
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : url.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    // Credentials in the URL would end up in logs; the settings carry them instead.
    why = "must not carry user information (credentials belong in the settings)";
    return std::nullopt;
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    why = "must not have a query or fragment";
    return std::nullopt;
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "has an unterminated IPv6 literal";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) {
        why = "has garbage after the IPv6 literal";
        return std::nullopt;
      }
      port = rest.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    why = "has no host";
    return std::nullopt;
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
      why = "has an invalid port";
      return std::nullopt;
    }
  }
  out.host = std::string(host);
  out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
  out.host_header = std::string(authority);
  while (path.ends_with('/')) path.remove_suffix(1);
  out.path = std::string(path);
  return out;
}

}  // namespace pagohub::core
