#include <pagohub/journal/exchanges.hpp>

#include <boost/beast/http/field.hpp>

#include <algorithm>
#include <chrono>

namespace pagohub::journal {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

bool default_selection(const http::route& r) {
  return r.pattern.starts_with("/api/") && r.method != http::verb::get &&
         r.method != http::verb::head && r.method != http::verb::options;
}

// tipoEvento is at most 35 characters (DIGEST §7): the method and the route pattern without
// the prefix every entity route shares; the whole pattern goes to parametriSpecificiInterfaccia.
std::string event_type_of(const http::route& r) {
  std::string_view p = r.pattern;
  if (p.starts_with("/api/v1")) p.remove_prefix(7);
  if (p.starts_with("/entities/{entityFiscalCode}")) p.remove_prefix(28);
  return std::string(beast_http::to_string(r.method)) + " " + std::string(p);
}

std::vector<std::pair<std::string, std::string>> kept_headers(const http::request& req) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : req) {
    const auto name = f.name_string();
    // Enough to understand the exchange; Authorization and X-API-Key are kept to show that a
    // credential was sent, and are masked by the redactor.
    for (const char* keep : {"Content-Type", "Idempotency-Key", "User-Agent", "Authorization",
                             "X-API-Key", "If-Match"}) {
      if (boost::beast::iequals(name, keep))
        out.emplace_back(std::string(name), std::string(f.value()));
    }
  }
  return out;
}

}  // namespace

std::shared_ptr<http::router> record_exchanges(const http::router& routes, exchange_recording how) {
  if (!how.events || !how.rules) throw std::invalid_argument("record_exchanges: writer and rules");
  auto shared = std::make_shared<const exchange_recording>(std::move(how));
  auto out = std::make_shared<http::router>();
  for (const auto& r : routes.routes()) {
    const bool selected = shared->select ? shared->select(r) : default_selection(r);
    if (!selected) {
      out->add(r.method, r.pattern, r.fn, r.options);
      continue;
    }
    auto inner = r.fn;
    auto type = event_type_of(r);
    auto pattern = r.pattern;
    out->add(
        r.method, r.pattern,
        [inner, type, pattern,
         how = shared](http::request_context& ctx) -> asio::awaitable<http::response> {
          const auto started = std::chrono::system_clock::now();
          std::exception_ptr failure;
          http::response res;
          try {
            res = co_await inner(ctx);
          } catch (...) {
            failure = std::current_exception();  // the session answers 500; recorded as such
          }
          const auto finished = std::chrono::system_clock::now();
          std::optional<caller> who;
          if (how->resolve) {
            try {
              who = co_await how->resolve(ctx);
            } catch (const std::exception&) {
              who.reset();
            }
          }
          exchange x;
          x.cat = category::interfaccia;
          x.interface = interface_kind::rest;
          x.component = "api";
          x.type = type;
          // The URL names an entity, but only a caller admitted to it makes an exchange of that
          // entity's. A refused caller (no key, a bad one, another entity's) would otherwise
          // write into any entity's journal, bodies included, since the default policy keeps
          // them for errors such as 401 and 403: its attempt is recorded without the entity
          // (for the admins) and without bodies.
          const std::string_view url_fc = ctx.params.get("entityFiscalCode");
          const bool admitted = who && (url_fc.empty() || who->reads.grants(url_fc));
          if (admitted) x.entity_fc = std::string(url_fc);
          x.interface_params = "route=" + pattern;
          x.caller_id = who ? who->id : "unauthenticated";
          x.provider_id = how->provider_id;
          x.request_id = ctx.request_id;
          x.by = who ? actor{who->kind, who->id} : actor{"application", "unauthenticated"};
          x.started = started;
          x.finished = finished;
          const int status = failure ? 500 : static_cast<int>(res.result_int());
          x.http_status = status;
          // Bodies are copied only when the policy can keep them: the common case (a
          // successful write under on_error) copies nothing.
          event probe;
          probe.interface = interface_kind::rest;
          probe.http_status = status;
          probe.message = payload{};
          if (admitted && how->rules->prepare_would_keep(probe)) {
            const auto ct = ctx.req[beast_http::field::content_type];
            x.request =
                payload{std::string(ct.data(), ct.size()), kept_headers(ctx.req), ctx.req.body()};
            if (!failure && !ctx.stream_body) {
              const auto rct = res[beast_http::field::content_type];
              x.response = payload{std::string(rct.data(), rct.size()), {}, res.body()};
            }
          }
          // A write that succeeded changed state: its events wait for room rather than drop.
          const bool changed = !failure && status >= 200 && status < 300;
          auto [req_event, rsp_event] = make_events(std::move(x));
          co_await how->events->enqueue(std::move(req_event), changed);
          co_await how->events->enqueue(std::move(rsp_event), changed);
          if (failure) std::rethrow_exception(failure);
          co_return res;
        },
        r.options);
  }
  return out;
}

}  // namespace pagohub::journal
