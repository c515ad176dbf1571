#pragma once
// Method + path-pattern routing. Patterns are '/'-separated segments: literals, `{name}` for one
// segment captured as a parameter, and a final `{name...}` capturing the rest of the path.
#include <pagohub/http/types.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::http {

struct route_options {
  std::size_t max_body_bytes = 0;  ///< 0: the server's default limit
  /// Read the body into a temporary file instead of memory (uploads of hundreds of megabytes):
  /// the handler finds it at request_context::body_file and req.body() stays empty. Each read
  /// of the body has its own deadline (server_settings::request_deadline), so a long upload
  /// that keeps moving is not cut off. The file is removed after the handler returns; a
  /// handler that wants to keep it renames it elsewhere first.
  bool spool_body = false;
  /// Runs on the request's head, before any byte of its body is read and before a
  /// `100 Continue`: ctx.req holds the headers and an empty body. A response it returns is sent
  /// instead of the handler's, and the connection closes with the body unread. For routes whose
  /// bodies are costly to take in (spooled uploads): a caller who will be refused anyway must
  /// not make the daemon write hundreds of megabytes first.
  std::function<std::optional<response>(const request_context&)> before_body{};
};

struct route {
  verb method;
  std::string pattern;
  handler fn;
  route_options options;
};

class router {
 public:
  /// Registers `fn` for `method` on `pattern`. Throws std::invalid_argument on a malformed pattern
  /// or a duplicate (method, pattern).
  void add(verb method, std::string pattern, handler fn, route_options options = {});

  struct match_result {
    const route* found = nullptr;  ///< the route to run, or null
    path_params params;
    bool path_known = false;    ///< some route has this path (so a miss is 405, not 404)
    std::vector<verb> allowed;  ///< methods registered for this path, for the Allow header
  };

  /// The best route for (method, path): literal segments win over parameters, so
  /// `/positions/search` beats `/positions/{id}`. A path with a malformed escape matches nothing.
  match_result match(verb method, std::string_view path) const;

  const std::vector<route>& routes() const noexcept { return routes_; }

 private:
  struct segment {
    std::string text;
    bool param = false;
    bool rest = false;
  };
  struct compiled {
    std::vector<segment> segments;
    int literals = 0;
  };
  std::vector<route> routes_;
  std::vector<compiled> compiled_;
};

}  // namespace pagohub::http
