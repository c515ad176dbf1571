#pragma once
// Bulk imports over REST (docs/api/backoffice.yaml "Imports", docs/api/bulk-csv.md): the routes
// are registered by add_backoffice_routes when backoffice_deps::imports is set; this header
// offers the NDJSON line decoder the import processor is configured with (the position JSON
// codec lives in this module).
#include <pagohub/imports/model.hpp>

#include <string_view>

namespace pagohub::api {

/// Decodes one NDJSON line of an import: a position in the REST body shape (as PUT takes it,
/// with its "externalId"), plus an optional "operation": "UPSERT" (default) or "CANCEL" (then
/// only "externalId" may accompany it). Errors carry JSON-pointer paths into the line.
imports::decoded_line decode_import_line(std::string_view line);

}  // namespace pagohub::api
