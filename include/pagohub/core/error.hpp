#pragma once
// Expected failures are values (ARCHITECTURE §6): a small error with a code, a human message
// and the offending field's path (a JSON pointer for REST, an element path for SOAP).
#include <expected>
#include <string>
#include <utility>

namespace pagohub::core {

/// Domain error codes. One table (core/error_map) maps them to HTTP statuses and PAA faults.
enum class errc {
  invalid_input,  ///< syntax or value check failed; `path` names the field
  not_found,
  conflict,      ///< state does not allow the operation (paid, cancelled, duplicate)
  unauthorized,  ///< no or bad credentials
  forbidden,     ///< credentials valid, resource not granted
  too_large,
  rate_limited,
  unavailable,  ///< a dependency (database, back-office) cannot be reached now
  timeout,
  internal,
};

/// An expected failure: code, message for people, and the path of the field at fault.
struct error {
  errc code = errc::internal;
  std::string message;
  std::string path;  ///< JSON pointer ("/paymentOptions/0/amount") or empty

  static error invalid(std::string path, std::string message) {
    return {errc::invalid_input, std::move(message), std::move(path)};
  }
};

template <class T>
using result = std::expected<T, error>;

inline std::unexpected<error> fail(errc code, std::string message, std::string path = {}) {
  return std::unexpected(error{code, std::move(message), std::move(path)});
}

}  // namespace pagohub::core
