// The back-office client: a keep-alive pool per endpoint, authentication headers, OAuth2 client
// credentials with a cached token (docs/integration.md "Security").
#include <pagohub/integration/bo_client.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include <pagohub/http/client_connection.hpp>

namespace pagohub::integration {

namespace outbound = ::pagohub::http::outbound;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::experimental::awaitable_operators::operator||;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
// Back-office answers are receipts' acknowledgements and single positions: a few kilobytes.
// The bound is generous because an answer beyond it fails the exchange, and a delivery must
// not fail on a 2xx that came with a long page: callers keep only what they need of a body.
constexpr std::size_t max_answer_bytes = 4 << 20;
// A connection idle longer than this is closed rather than reused: servers commonly drop idle
// keep-alive connections after 5-60 s, and a request on one they dropped fails.
constexpr auto idle_limit = std::chrono::seconds(20);
// The token is renewed this long before the expiry the server announced, so that a request
// never carries one that expires in flight.
constexpr auto token_margin = std::chrono::seconds(30);
// The lifetime announced (expires_in) is taken within these bounds: a server announcing 0 or
// less (or a few seconds) would otherwise cost a token request per request, and a huge value
// would overflow the clock and keep a token for ever. A token that dies before the bound is
// answered with a 401, which fetches a new one.
constexpr std::int64_t token_life_min_s = 30;
constexpr std::int64_t token_life_max_s = 24 * 3600;
// Without expires_in (RFC 6749 §5.1 only recommends it).
constexpr std::int64_t token_life_default_s = 300;

std::string base64(std::string_view in) {
  std::string out(beast::detail::base64::encoded_size(in.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), in.data(), in.size()));
  return out;
}

// application/x-www-form-urlencoded (RFC 6749 Appendix B).
std::string form_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct waiter {
  explicit waiter(const asio::any_io_executor& ex) : channel(ex, 1) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> channel;
  bool granted = false;  // under pool mutex
};

// One token request in flight, shared by every request that needs a token meanwhile: a burst of
// requests finding the token expired asks the token endpoint once, not once each.
struct token_fetch {
  std::vector<std::shared_ptr<waiter>> waiters;        // under token_mutex
  std::optional<core::result<std::string>> outcome{};  // under token_mutex; set once
};

}  // namespace

struct bo_client::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, bo_endpoint ep) : ex(std::move(e)), endpoint(std::move(ep)) {
    std::string why;
    auto u = outbound::parse_url(endpoint.base_url, why);
    if (!u) throw std::invalid_argument("base_url " + why);
    url = std::move(*u);
    if (endpoint.max_concurrency == 0) endpoint.max_concurrency = 1;
    const auto& a = endpoint.auth;
    if (a.type == bo_auth::kind::mtls && (a.client_cert_file.empty() || a.client_key_file.empty()))
      throw std::invalid_argument("mtls needs client_cert_file and client_key_file");
    if (a.type == bo_auth::kind::oauth2_client_credentials) {
      auto t = outbound::parse_url(a.token_url, why);
      if (!t) throw std::invalid_argument("token_url " + why);
      token_url = std::move(*t);
      // The token path is the URL's whole path, not a prefix.
      if (token_url.path.empty()) token_url.path = "/";
    }
    if (url.tls || token_url.tls) {
      tls = outbound::make_client_tls(a.ca_file, a.client_cert_file, a.client_key_file);
    }
  }

  asio::any_io_executor ex;
  bo_endpoint endpoint;
  outbound::parsed_url url;
  outbound::parsed_url token_url;
  std::shared_ptr<asio::ssl::context> tls;

  std::mutex mutex;
  std::size_t in_use = 0;
  std::list<std::shared_ptr<waiter>> waiters;
  std::deque<std::unique_ptr<outbound::connection>> idle;

  std::mutex token_mutex;
  std::string token;  // never logged
  clock_type::time_point token_expires{};
  std::shared_ptr<token_fetch> fetching;  // the token request in flight, if any

  // A slot among max_concurrency, waiting in line until `deadline`.
  asio::awaitable<bool> acquire(clock_type::time_point deadline) {
    std::shared_ptr<waiter> w;
    {
      std::lock_guard lock(mutex);
      if (in_use < endpoint.max_concurrency) {
        ++in_use;
        co_return true;
      }
      w = std::make_shared<waiter>(ex);
      waiters.push_back(w);
    }
    asio::steady_timer timer(ex, deadline);
    co_await (w->channel.async_receive(use_nothrow) || timer.async_wait(use_nothrow));
    std::lock_guard lock(mutex);
    if (w->granted) co_return true;  // handed over by release(), even if the timer fired too
    waiters.remove(w);
    co_return false;
  }

  void release(std::unique_ptr<outbound::connection> conn) {
    std::lock_guard lock(mutex);
    if (conn && conn->connected()) idle.push_back(std::move(conn));
    if (!waiters.empty()) {
      // The slot passes straight to the next in line (in_use unchanged).
      auto w = waiters.front();
      waiters.pop_front();
      w->granted = true;
      w->channel.try_send(boost::system::error_code{});
      return;
    }
    --in_use;
  }

  std::unique_ptr<outbound::connection> take_idle() {
    std::lock_guard lock(mutex);
    const auto now = clock_type::now();
    while (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      if (now - c->last_used() < idle_limit) return c;
    }
    return nullptr;
  }

  // The current token, or one fetched for it (together with whoever else needs one now).
  asio::awaitable<core::result<std::string>> bearer(clock_type::time_point deadline) {
    std::shared_ptr<token_fetch> fetch;
    std::shared_ptr<waiter> w;
    {
      std::lock_guard lock(token_mutex);
      if (!token.empty() && clock_type::now() < token_expires) co_return token;
      if (fetching) {
        w = std::make_shared<waiter>(ex);
        fetching->waiters.push_back(w);
      } else {
        fetching = std::make_shared<token_fetch>();
      }
      fetch = fetching;
    }
    if (w) {
      // Another request is fetching: wait for its outcome, within this request's own deadline.
      asio::steady_timer timer(ex, deadline);
      co_await (w->channel.async_receive(use_nothrow) || timer.async_wait(use_nothrow));
      std::lock_guard lock(token_mutex);
      if (fetch->outcome) co_return *fetch->outcome;
      std::erase(fetch->waiters, w);
      co_return core::fail(core::errc::timeout, "OAuth2 token endpoint: no token in time");
    }
    // This request fetches for all. However it ends (an exception, or this coroutine
    // destroyed unfinished), the waiters are told and the next request may fetch again: a
    // fetch left in place would hold every later request until its deadline.
    struct finisher {
      impl& self;
      std::shared_ptr<token_fetch> fetch;
      ~finisher() {
        self.publish(fetch,
                     core::fail(core::errc::unavailable, "OAuth2 token request did not finish"));
      }
    } finish{*this, fetch};
    auto got = co_await fetch_token(deadline);
    publish(fetch, got);
    co_return got;
  }

  // Ends `fetch`: its token becomes the current one, and its waiters get its outcome (the
  // failure too: a token endpoint that is down is asked once per burst, not by every request).
  // Only the first outcome counts.
  void publish(const std::shared_ptr<token_fetch>& fetch, const core::result<std::string>& got) {
    std::lock_guard lock(token_mutex);
    if (fetch->outcome) return;
    fetch->outcome = got;
    if (fetching == fetch) fetching.reset();
    for (auto& w : fetch->waiters) w->channel.try_send(boost::system::error_code{});
    fetch->waiters.clear();
  }

  asio::awaitable<core::result<std::string>> fetch_token(clock_type::time_point deadline) {
    const auto& a = endpoint.auth;
    outbound::request req{bhttp::verb::post, token_url.path, 11};
    req.set(bhttp::field::host, token_url.host_header);
    req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    req.set(bhttp::field::accept, "application/json");
    // RFC 6749 §2.3.1: client id and secret in HTTP basic, each form-encoded first.
    req.set(bhttp::field::authorization,
            "Basic " + base64(form_encode(a.username) + ":" + form_encode(a.secret)));
    std::string body = "grant_type=client_credentials";
    if (!a.scope.empty()) body += "&scope=" + form_encode(a.scope);
    req.body() = std::move(body);
    req.prepare_payload();
    outbound::connection conn(ex, token_url, tls);
    auto r = co_await conn.exchange(req, deadline, 64 * 1024);
    conn.close();
    if (!r.res) {
      co_return core::fail(r.err.code, "OAuth2 token endpoint: " + r.err.message);
    }
    if (r.res->result_int() != 200) {
      co_return core::fail(core::errc::unavailable,
                           "OAuth2 token endpoint answered " + std::to_string(r.res->result_int()));
    }
    const auto j = nlohmann::json::parse(r.res->body(), nullptr, false);
    if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string() ||
        j["access_token"].get_ref<const std::string&>().empty()) {
      co_return core::fail(core::errc::unavailable, "OAuth2 token endpoint: no access_token");
    }
    std::int64_t life_s = token_life_default_s;
    if (j.contains("expires_in") && j["expires_in"].is_number()) {
      // Clamped as a double first: a float or a value beyond int64 must not overflow either.
      life_s = static_cast<std::int64_t>(std::clamp(j["expires_in"].get<double>(),
                                                    static_cast<double>(token_life_min_s),
                                                    static_cast<double>(token_life_max_s)));
    }
    std::string fresh = j["access_token"].get<std::string>();
    {
      std::lock_guard lock(token_mutex);
      token = fresh;
      const auto life = std::chrono::seconds(life_s);
      token_expires =
          clock_type::now() + (life > 2 * token_margin ? life - token_margin : life / 2);
    }
    co_return fresh;
  }

  // After a 401: forgets `rejected` unless another request has replaced it meanwhile (then the
  // newer token stays, and the retry uses it).
  void forget_token(const std::string& rejected) {
    std::lock_guard lock(token_mutex);
    if (token == rejected) token.clear();
  }

  // Every occurrence of `secret` in `text` becomes "[redacted]". Short values are left alone:
  // they would match ordinary text, and are no secrets worth the name.
  static void redact(std::string& text, std::string_view secret) {
    if (secret.size() < 8) return;
    for (std::size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + 10))
      text.replace(at, secret.size(), "[redacted]");
  }

  asio::awaitable<core::result<bo_response>> run(
      bhttp::verb method, const std::string& path, const std::string& body,
      const std::string& content_type, clock_type::time_point deadline,
      const std::vector<std::pair<std::string, std::string>>& extra) {
    // Beast writes header values as given: a CR or LF would end the header there and let the
    // value add headers, or a request, of its own.
    for (const auto& [k, v] : extra)
      if (v.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        co_return core::fail(core::errc::invalid_input,
                             "header " + k + " has a line break or NUL; nothing was sent");
    const auto& a = endpoint.auth;
    std::string bearer_sent;  // the token this round carried (OAuth2)
    for (int auth_round = 0;; ++auth_round) {
      outbound::request req{method, url.path + path, 11};
      req.set(bhttp::field::host, url.host_header);
      req.set(bhttp::field::user_agent, "pagohubd");
      req.set(bhttp::field::accept, "application/json");
      req.keep_alive(true);
      switch (a.type) {
        case bo_auth::kind::api_key:
          req.set(a.header_name, a.secret);
          break;
        case bo_auth::kind::basic:
          req.set(bhttp::field::authorization, "Basic " + base64(a.username + ":" + a.secret));
          break;
        case bo_auth::kind::oauth2_client_credentials: {
          auto t = co_await bearer(deadline);
          if (!t) co_return std::unexpected(std::move(t).error());
          bearer_sent = *t;
          req.set(bhttp::field::authorization, "Bearer " + bearer_sent);
          break;
        }
        case bo_auth::kind::none:
        case bo_auth::kind::mtls:
          break;
      }
      for (const auto& [k, v] : extra) req.set(k, v);
      if (!body.empty() || method == bhttp::verb::put || method == bhttp::verb::post) {
        if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
        req.body() = body;
      }
      req.prepare_payload();

      outbound::exchange_result r;
      std::unique_ptr<outbound::connection> conn = take_idle();
      const bool reused = conn != nullptr;
      if (!conn) conn = std::make_unique<outbound::connection>(ex, url, tls);
      r = co_await conn->exchange(req, deadline, max_answer_bytes);
      if (!r.res && reused && r.nothing_read && clock_type::now() < deadline) {
        // The server closed the idle connection as we used it: once more on a fresh one.
        conn = std::make_unique<outbound::connection>(ex, url, tls);
        r = co_await conn->exchange(req, deadline, max_answer_bytes);
      }
      if (r.res) {
        // Give the connection back for the next request while the caller reads this answer.
        {
          std::lock_guard lock(mutex);
          if (conn->connected()) idle.push_back(std::move(conn));
        }
        if (r.res->result_int() == 401 && a.type == bo_auth::kind::oauth2_client_credentials &&
            auth_round == 0) {
          // The token may have been revoked early: fetch a new one and try once more.
          forget_token(bearer_sent);
          continue;
        }
        bo_response out;
        out.status = r.res->result_int();
        out.content_type = std::string((*r.res)[bhttp::field::content_type]);
        out.body = std::move(r.res->body());
        // A back-office may quote the request in its answer (a 401 echoing the credentials it
        // refused): the answer is kept (last error, attempts, journal), the secrets are not.
        redact(out.body, a.secret);
        redact(out.body, bearer_sent);
        if (a.type == bo_auth::kind::basic) redact(out.body, base64(a.username + ":" + a.secret));
        co_return out;
      }
      co_return std::unexpected(std::move(r.err));
    }
  }

  // One request: a connection within `wait_until`, then the exchange until the earlier of
  // `deadline` and endpoint.timeout after the connection was had. The timeout starts only
  // then: with more requests than connections, a request's time in line says nothing about the
  // back-office, and counting it would fail requests that never left.
  static asio::awaitable<bo_attempt> call(
      std::shared_ptr<impl> self,  // keeps the pool alive while this request runs
      bhttp::verb method, std::string path, std::string body, std::string content_type,
      clock_type::time_point wait_until, clock_type::time_point deadline,
      std::vector<std::pair<std::string, std::string>> extra) {
    bo_attempt out;
    if (!co_await self->acquire(std::min(wait_until, deadline))) {
      out.result = core::fail(core::errc::timeout,
                              "no free connection to " + self->url.host_header + " in time");
      co_return out;
    }
    out.sent = true;
    out.started = clock_type::now();
    deadline = std::min(deadline, out.started + self->endpoint.timeout);
    try {
      out.result = co_await self->run(method, path, body, content_type, deadline, extra);
    } catch (...) {
      self->release(nullptr);
      throw;
    }
    self->release(nullptr);
    if (!out.result) {
      spdlog::debug("back-office {} {}{}: {}", std::string(bhttp::to_string(method)),
                    self->url.host_header, path, out.result.error().message);
    }
    co_return out;
  }
};

bo_client::bo_client(asio::any_io_executor ex, bo_endpoint endpoint)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(endpoint))) {}

bo_client::~bo_client() = default;

const bo_endpoint& bo_client::endpoint() const noexcept {
  return impl_->endpoint;
}

void bo_client::invalidate_token() {
  std::lock_guard lock(impl_->token_mutex);
  impl_->token.clear();
}

asio::awaitable<core::result<bo_response>> bo_client::request(
    bhttp::verb method, std::string path, std::string body, std::string content_type,
    clock_type::time_point deadline,
    std::vector<std::pair<std::string, std::string>> extra_headers) {
  auto a =
      co_await impl::call(impl_, method, std::move(path), std::move(body), std::move(content_type),
                          deadline, deadline, std::move(extra_headers));
  co_return std::move(a.result);
}

asio::awaitable<bo_attempt> bo_client::attempt(
    bhttp::verb method, std::string path, std::string body, std::string content_type,
    clock_type::time_point wait_until,
    std::vector<std::pair<std::string, std::string>> extra_headers) {
  co_return co_await impl::call(impl_, method, std::move(path), std::move(body),
                                std::move(content_type), wait_until, clock_type::time_point::max(),
                                std::move(extra_headers));
}

}  // namespace pagohub::integration
