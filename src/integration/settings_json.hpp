#pragma once
// The JSON of integration settings in the admin API (docs/api/backoffice.yaml, schemas
// IntegrationSettings and IntegrationSettingsPatch): what is configured, overridden and in
// force, and the merge patch (RFC 7396) an admin sends to change the overrides.
#include <pagohub/config/integration.hpp>
#include <pagohub/http/problem.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pagohub::integration::detail {

/// The overridable settings of `i` as in force for its mode (plus `auth`, shown, never
/// overridable). No secret is ever part of it.
nlohmann::ordered_json settings_json(const config::integration& i);

/// The fields `o` overrides, and only those.
nlohmann::ordered_json override_json(const config::integration_override& o);

/// The JSON pointer of a configuration key in the patch body ("base_url" -> "/baseUrl").
std::string patch_path(std::string_view config_key);

/// Applies the merge patch `body` (an object; `reason` is not a setting and is skipped) to
/// `into`: a member set to null removes that override, another value sets it. Type errors and
/// unknown or not overridable members go to `errors` with their paths; returns how many setting
/// members the patch names.
int apply_patch(const nlohmann::json& body, config::integration_override& into,
                std::vector<http::field_error>& errors);

}  // namespace pagohub::integration::detail
