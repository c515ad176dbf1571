#pragma once
// GET /receipts (the pull feed) and GET /receipts/{receiptId} under an entity
// (docs/api/backoffice.yaml, tag receipts; docs/integration.md "Pull feed").
#include <pagohub/http/router.hpp>

#include <memory>

#include "route_support.hpp"

namespace pagohub::api {

/// Registers the feed routes on `r`, behind `rc`'s access guard.
void add_receipt_feed_routes(http::router& r, const std::shared_ptr<route_context>& rc);

}  // namespace pagohub::api
