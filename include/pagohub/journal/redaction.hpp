#pragma once
// What never reaches the journal's stored payloads: secrets (always) and the personal-data
// fields named in [journal] personal_data_fields. Values are replaced by "***"; the structure
// of the message stays, so an auditor still sees which fields were sent.
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace pagohub::journal {

/// The replacement of every masked value.
inline constexpr std::string_view redaction_mask = "***";

class redactor {
 public:
  /// `personal_data_fields` are matched case-insensitively and ignoring '_', '-' and '.', so
  /// "fiscalCode" also masks "fiscal_code" and "FISCAL-CODE". Secrets are always masked: any
  /// name containing "token", "secret", "password", "passwd", "apikey" (or "api_key"),
  /// "authorization", "privatekey" or "passphrase" (X-Auth-Token, sessionToken, apiSecret), and
  /// cookies, "pwd", subscription keys. pagoPA's paymentToken(s) and authorizationCode are
  /// business identifiers, not credentials: they stay readable unless listed as personal data.
  explicit redactor(const std::vector<std::string>& personal_data_fields);

  /// "Name: value" lines, secret and personal headers masked.
  std::string redact_headers(const std::vector<std::pair<std::string, std::string>>& headers) const;

  /// The body with masked values:
  ///  - JSON (content type containing "json"): the value of every object member whose name is
  ///    masked (objects and arrays whole); re-serialised only when something was masked;
  ///  - XML and SOAP ("xml"): the content of every element, and the value of every attribute,
  ///    whose local name is masked;
  ///  - forms (application/x-www-form-urlencoded): the value of every field whose name, once
  ///    percent-decoded, is masked.
  /// A body that cannot be parsed as its type, or of any other type, is not stored: the result
  /// is a note with its size, since it could hold what must not be kept.
  std::string redact_body(std::string_view content_type, std::string_view body) const;

  /// True when a field (or header) of this name is masked.
  bool masked(std::string_view name) const;

 private:
  std::unordered_set<std::string> masked_;
};

}  // namespace pagohub::journal
