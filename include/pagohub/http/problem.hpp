#pragma once
// RFC 9457 problem details, the one error shape of every REST answer (ARCHITECTURE §6).
#include <pagohub/core/error.hpp>
#include <pagohub/http/types.hpp>

#include <string>
#include <vector>

namespace pagohub::http {

/// One offending field: `path` is a JSON pointer into the request body (or `/query/<name>`,
/// `/header/<name>` for those parts), `code` a stable machine-readable word.
struct field_error {
  std::string path;
  std::string code;
  std::string message;
};

struct problem {
  status http_status = status::internal_server_error;
  std::string type = "about:blank";
  std::string title;
  std::string detail;
  std::string instance;
  std::string request_id;
  std::vector<field_error> errors;
};

/// Renders `p` as application/problem+json for `req`.
response make_problem(const request& req, const problem& p);

/// Shorthand: a problem with just a status and a detail.
response make_problem(const request_context& ctx, status st, std::string detail);

/// 503 with `detail` and `Retry-After: 5`: the database could not take the request (a lost
/// connection, a timeout, a failover; db::unavailable_reason) and the client may try again.
response make_unavailable(const request_context& ctx, std::string detail);

/// Maps a domain error to its HTTP status (the one table of ARCHITECTURE §6, REST side).
status status_for(core::errc code) noexcept;

/// Renders a domain error as a problem; an `invalid_input` error with a path becomes one entry
/// of `errors[]`.
response make_problem(const request_context& ctx, const core::error& e);

/// The JSON text of a problem (exposed for tests).
std::string render_problem_json(const problem& p);

}  // namespace pagohub::http
