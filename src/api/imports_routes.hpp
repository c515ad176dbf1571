#pragma once
// The bulk-import route family (imports_routes.cpp), registered by add_backoffice_routes with
// the shared route_context: one access guard, one rate-limit bucket per key.
#include <pagohub/imports/service.hpp>

#include <cstddef>
#include <memory>

#include "route_support.hpp"

namespace pagohub::api {

struct import_route_deps {
  imports::service& service;     ///< woken when an import is queued
  db::executor& upload_db;       ///< stores the uploads (backoffice_deps::upload_db)
  std::size_t max_upload_bytes;  ///< [imports] max_upload_bytes
  int max_queued;                ///< [imports] max_queued_per_application
};

/// POST .../imports, GET .../imports/{importId}, GET .../imports/{importId}/report.
void add_import_routes(http::router& r, const std::shared_ptr<route_context>& rc,
                       const import_route_deps& deps);

}  // namespace pagohub::api
