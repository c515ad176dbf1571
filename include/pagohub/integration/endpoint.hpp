#pragma once
// From an [[integration]] to the client settings of its endpoint.
#include <pagohub/config/integration.hpp>
#include <pagohub/integration/bo_client.hpp>

namespace pagohub::integration {

/// The bo_endpoint of a push integration (base_url, auth, TLS files, timeout, concurrency).
bo_endpoint endpoint_of(const config::integration& settings);

/// True when two integrations' endpoints are the same; when not, a reload must rebuild the
/// client.
bool same_endpoint(const config::integration& a, const config::integration& b) noexcept;

}  // namespace pagohub::integration
