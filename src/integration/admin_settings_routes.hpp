#pragma once
// The integrations' views and the admins' runtime settings routes (admin_routes.hpp):
//   GET    /api/v1/admin/integrations
//   GET    /api/v1/admin/integrations/{integrationId}
//   PATCH  /api/v1/admin/integrations/{integrationId}/settings   merge patch + "reason"
//   DELETE /api/v1/admin/integrations/{integrationId}/settings   back to the configuration
#include <pagohub/http/router.hpp>

#include <memory>

#include "admin_support.hpp"

namespace pagohub::integration::detail {

void add_admin_settings_routes(http::router& r, std::shared_ptr<admin_state> d);

}  // namespace pagohub::integration::detail
