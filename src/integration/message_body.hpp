#pragma once
// What a back-office receives for an outbox message (docs/api/bo-webhooks.yaml): the request
// path and the JSON body, the same on every attempt so that the back-office may compare.
#include <pagohub/integration/outbox.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace pagohub::integration::detail {

/// The Idempotency-Key header's value: the key, with bytes outside visible ASCII and '%'
/// percent-encoded. Keys are any text up to 35 characters (an old-model key holds the PSP's CCP),
/// and a line break in a header value would let it add headers of its own.
std::string header_key(std::string_view key);

/// "/receipts/{key}" for receipts, "/events/{key}" for everything else; the key
/// percent-encoded as a path segment (RFC 3986 §3.3).
std::string target_path(std::string_view kind, std::string_view key);

/// The body: for a receipt, the stored receipt as the REST API shows it (`receipt_json`, when
/// the receipts row was found) with the routing facts added (entityFiscalCode,
/// positionExternalId, applicationId, serviceCode, applied, anomaly); for events, the outbox
/// payload with "eventId" and "type".
std::string body_of(const claimed_message& m, const std::optional<std::string>& receipt_json);

}  // namespace pagohub::integration::detail
