#pragma once
// spdlog set-up: text for people, JSON lines for log shippers. The access log is its own
// logger ("access") so operators can route or silence it separately.
#include <string>

namespace pagohub::app {

/// Configures the default logger and the "access" logger. Throws std::invalid_argument on an
/// unknown level or format (config validation normally catches those first).
void setup_logging(const std::string& level, const std::string& format);

/// Escapes text for a JSON string literal (exposed for tests).
std::string json_escape(std::string_view text);

}  // namespace pagohub::app
