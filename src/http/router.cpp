#include <pagohub/http/router.hpp>

#include <algorithm>
#include <stdexcept>

namespace pagohub::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

void router::add(verb method, std::string pattern, handler fn, route_options options) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': " + pattern);
  compiled c;
  auto parts = split_path(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto p = parts[i];
    segment s;
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      auto name = p.substr(1, p.size() - 2);
      if (name.ends_with("...")) {
        if (i + 1 != parts.size())
          throw std::invalid_argument("'{name...}' must be the last segment: " + pattern);
        name.remove_suffix(3);
        s.rest = true;
      }
      if (name.empty()) throw std::invalid_argument("empty parameter name in " + pattern);
      s.param = true;
      s.text = std::string(name);
    } else {
      if (p.find_first_of("{}") != std::string_view::npos)
        throw std::invalid_argument("malformed segment in " + pattern);
      s.text = std::string(p);
      ++c.literals;
    }
    c.segments.push_back(std::move(s));
  }
  for (const auto& r : routes_)
    if (r.method == method && r.pattern == pattern)
      throw std::invalid_argument("duplicate route " + pattern);
  routes_.push_back(route{method, std::move(pattern), std::move(fn), options});
  compiled_.push_back(std::move(c));
}

router::match_result router::match(verb method, std::string_view path) const {
  match_result best;
  int best_score = -1;
  auto parts = split_path(path);
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    const auto& c = compiled_[r];
    path_params params;
    bool ok = true;
    std::size_t i = 0;
    for (; i < c.segments.size() && ok; ++i) {
      const auto& s = c.segments[i];
      if (s.rest) {
        // Capture the remainder verbatim (joined back with '/'); decoding each piece keeps an
        // encoded "%2F" from smuggling an extra segment.
        std::string rest;
        for (std::size_t j = i; j < parts.size(); ++j) {
          auto d = percent_decode(parts[j]);
          if (!d) {
            ok = false;
            break;
          }
          if (j > i) rest += '/';
          rest += *d;
        }
        if (ok) params.add(s.text, std::move(rest));
        i = parts.size();
        break;
      }
      if (i >= parts.size()) {
        ok = false;
        break;
      }
      if (s.param) {
        auto d = percent_decode(parts[i]);
        if (!d || d->empty()) {
          ok = false;
          break;
        }
        params.add(s.text, std::move(*d));
      } else if (s.text != parts[i]) {
        ok = false;
      }
    }
    if (!ok || i != parts.size()) continue;
    best.path_known = true;
    if (std::find(best.allowed.begin(), best.allowed.end(), routes_[r].method) ==
        best.allowed.end())
      best.allowed.push_back(routes_[r].method);
    if (routes_[r].method != method) continue;
    if (c.literals > best_score) {
      best_score = c.literals;
      best.found = &routes_[r];
      best.params = std::move(params);
    }
  }
  return best;
}

}  // namespace pagohub::http
