#include <pagohub/integration/endpoint.hpp>

namespace pagohub::integration {

bo_endpoint endpoint_of(const config::integration& s) {
  bo_endpoint ep;
  ep.base_url = s.base_url;
  ep.timeout = s.timeout;
  ep.max_concurrency = s.max_concurrency;
  auto& a = ep.auth;
  switch (s.auth) {
    case config::integration_auth::none:
      a.type = bo_auth::kind::none;
      break;
    case config::integration_auth::api_key:
      a.type = bo_auth::kind::api_key;
      break;
    case config::integration_auth::basic:
      a.type = bo_auth::kind::basic;
      break;
    case config::integration_auth::oauth2:
      a.type = bo_auth::kind::oauth2_client_credentials;
      break;
    case config::integration_auth::mtls:
      a.type = bo_auth::kind::mtls;
      break;
  }
  a.header_name = s.api_key_header;
  a.secret = s.secret;
  a.username = s.username;
  a.token_url = s.token_url;
  a.scope = s.scope;
  a.client_cert_file = s.client_cert_file;
  a.client_key_file = s.client_key_file;
  a.ca_file = s.ca_file;
  return ep;
}

bool same_endpoint(const config::integration& a, const config::integration& b) noexcept {
  return a.base_url == b.base_url && a.auth == b.auth && a.api_key_header == b.api_key_header &&
         a.secret == b.secret && a.username == b.username && a.token_url == b.token_url &&
         a.scope == b.scope && a.client_cert_file == b.client_cert_file &&
         a.client_key_file == b.client_key_file && a.ca_file == b.ca_file &&
         a.timeout == b.timeout && a.max_concurrency == b.max_concurrency;
}

}  // namespace pagohub::integration
