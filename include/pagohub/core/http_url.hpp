#pragma once
// An absolute http(s) URL as the outbound clients use it (back-offices, the Nodo), and as the
// configuration checks it, so that what the configuration accepts the clients can use.
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::core {

/// "https://host:port/prefix" split up; the prefix has no trailing '/'.
struct parsed_url {
  bool tls = false;
  std::string host;  ///< without brackets for IPv6 literals
  std::string port;  ///< always set ("80"/"443" by default)
  std::string host_header;
  std::string path;  ///< "" or "/prefix"
};

/// Parses an absolute http(s) URL; nullopt with `why` set when it is not one.
std::optional<parsed_url> parse_url(std::string_view url, std::string& why);

}  // namespace pagohub::core
