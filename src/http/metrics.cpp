#include <pagohub/http/metrics.hpp>

#include <cstdio>

namespace pagohub::http {

void metrics_registry::observe_request(std::string_view route, std::string_view method,
                                       unsigned status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), std::string(method), status}];
  latency_[{std::string(route), std::string(method)}].observe(seconds);
}

void metrics_registry::add_collector(collector c) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(c));
}

std::string metrics_registry::escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {
std::string fmt_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

void latency_histogram::observe(double seconds) noexcept {
  for (std::size_t i = 0; i < std::size(latency_bounds); ++i)
    if (seconds <= latency_bounds[i]) ++buckets[i];
  ++count;
  sum += seconds;
}

void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const latency_histogram& h) {
  const std::string series(name);
  const std::string sep = labels.empty() ? "" : ",";
  const std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  for (std::size_t i = 0; i < std::size(latency_bounds); ++i) {
    out += series + "_bucket{" + std::string(labels) + sep + "le=\"" +
           fmt_double(latency_bounds[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
  }
  out += series + "_bucket{" + std::string(labels) + sep + "le=\"+Inf\"} " +
         std::to_string(h.count) + "\n";
  out += series + "_sum" + braces + " " + fmt_double(h.sum) + "\n";
  out += series + "_count" + braces + " " + std::to_string(h.count) + "\n";
}

namespace {

void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type = "counter") {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

void append_gauge(std::string& out, std::string_view name, std::string_view help,
                  std::int64_t value) {
  append_header(out, name, help, "gauge");
  out += name;
  out += ' ' + std::to_string(value) + '\n';
}

void append_counter(std::string& out, std::string_view name, std::string_view help,
                    std::uint64_t value) {
  append_header(out, name, help);
  out += name;
  out += ' ' + std::to_string(value) + '\n';
}

void append_counter(std::string& out, std::string_view name, std::string_view help,
                    std::string_view label,
                    std::initializer_list<std::pair<std::string_view, std::uint64_t>> samples) {
  append_header(out, name, help);
  for (const auto& [value, n] : samples) {
    out += name;
    out += '{';
    out += label;
    out += "=\"" + metrics_registry::escape_label(value) + "\"} " + std::to_string(n) + '\n';
  }
}

std::string metrics_registry::render() const {
  std::string out;
  std::vector<collector> collectors;
  {
    std::lock_guard lock(mutex_);
    out += "# HELP pagohub_http_requests_total HTTP requests answered, by route pattern.\n";
    out += "# TYPE pagohub_http_requests_total counter\n";
    for (const auto& [key, n] : requests_) {
      const auto& [route, method, status] = key;
      out += "pagohub_http_requests_total{route=\"" + escape_label(route) + "\",method=\"" +
             escape_label(method) + "\",status=\"" + std::to_string(status) + "\"} " +
             std::to_string(n) + "\n";
    }
    out +=
        "# HELP pagohub_http_request_duration_seconds Time from request header to response "
        "written.\n";
    out += "# TYPE pagohub_http_request_duration_seconds histogram\n";
    for (const auto& [key, h] : latency_) {
      append_histogram(
          out, "pagohub_http_request_duration_seconds",
          "route=\"" + escape_label(key.first) + "\",method=\"" + escape_label(key.second) + "\"",
          h);
    }
    collectors = collectors_;
  }
  out += "# HELP pagohub_http_requests_in_flight Requests being handled now.\n";
  out += "# TYPE pagohub_http_requests_in_flight gauge\n";
  out += "pagohub_http_requests_in_flight " +
         std::to_string(inflight_.load(std::memory_order_relaxed)) + "\n";
  // Collectors run outside the lock: they may take their own.
  for (const auto& c : collectors) c(out);
  return out;
}

}  // namespace pagohub::http
