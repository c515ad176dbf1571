#include <pagohub/nodo_client/client.hpp>
#include <pagohub/nodo_client/codec.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <deque>
#include <mutex>
#include <stdexcept>

#include <pagohub/http/client_connection.hpp>

namespace pagohub::nodo_client {

namespace outbound = ::pagohub::http::outbound;

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// One service (NodoPerPa or nodeForPa): its URL and idle keep-alive connections.
struct endpoint {
  std::string url;
  std::optional<outbound::parsed_url> parsed;
  std::mutex mutex;
  std::deque<std::unique_ptr<outbound::connection>> idle;
};

}  // namespace

struct client::impl {
  asio::any_io_executor ex;
  config::nodo_settings settings;
  station_credentials station;
  std::shared_ptr<asio::ssl::context> tls;
  endpoint nodo_per_pa, node_for_pa;

  endpoint& of(operation op) {
    return service_of(op) == service::node_for_pa ? node_for_pa : nodo_per_pa;
  }

  std::unique_ptr<outbound::connection> take(endpoint& e) {
    std::lock_guard lock(e.mutex);
    while (!e.idle.empty()) {
      auto c = std::move(e.idle.front());
      e.idle.pop_front();
      // An idle connection older than the usual server keep-alive (Apache/Nginx: 5..75 s) is
      // more likely closed than not: drop it rather than risk a write into the void.
      if (c->connected() &&
          std::chrono::steady_clock::now() - c->last_used() < std::chrono::seconds(30))
        return c;
    }
    return std::make_unique<outbound::connection>(ex, *e.parsed, tls);
  }

  void give_back(endpoint& e, std::unique_ptr<outbound::connection> c) {
    if (!c->connected()) return;
    std::lock_guard lock(e.mutex);
    if (e.idle.size() < settings.max_idle_connections) e.idle.push_back(std::move(c));
  }
};

client::client(asio::any_io_executor ex, config::nodo_settings settings,
               station_credentials station)
    : impl_(std::make_shared<impl>()) {
  impl_->ex = std::move(ex);
  impl_->settings = std::move(settings);
  impl_->station = std::move(station);
  bool any_tls = false;
  for (auto* e : {&impl_->nodo_per_pa, &impl_->node_for_pa}) {
    e->url = e == &impl_->nodo_per_pa ? impl_->settings.nodo_per_pa_url
                                      : impl_->settings.node_for_pa_url;
    if (e->url.empty()) continue;
    std::string why;
    e->parsed = outbound::parse_url(e->url, why);
    if (!e->parsed) throw std::invalid_argument("nodo URL " + e->url + " " + why);
    any_tls = any_tls || e->parsed->tls;
  }
  if (any_tls) {
    impl_->tls = outbound::make_client_tls(impl_->settings.ca_file, impl_->settings.cert_file,
                                           impl_->settings.key_file);
  }
}

client::~client() = default;

const station_credentials& client::station() const noexcept {
  return impl_->station;
}

bool client::configured(operation op) const noexcept {
  return impl_->of(op).parsed.has_value();
}

asio::awaitable<exchange_trace> client::post(operation op, std::string envelope) {
  auto self = impl_;  // the coroutine keeps the pools alive
  exchange_trace t;
  t.op = op;
  endpoint& e = self->of(op);
  t.url = e.url;
  t.request_body = std::move(envelope);
  t.started = std::chrono::system_clock::now();
  if (!e.parsed) {
    t.finished = t.started;
    t.transport_error = core::error{
        core::errc::invalid_input,
        "the Nodo service of " + std::string(name_of(op)) + " is not configured ([nodo])",
        {}};
    co_return t;
  }
  outbound::request req{http::verb::post, e.parsed->path.empty() ? "/" : e.parsed->path, 11};
  req.set(http::field::host, e.parsed->host_header);
  req.set(http::field::content_type, "text/xml; charset=utf-8");
  req.set("SOAPAction", "\"" + std::string(name_of(op)) + "\"");
  req.set(http::field::user_agent, "pagohub");
  req.keep_alive(true);
  if (!self->settings.subscription_key.empty())
    req.set(self->settings.subscription_key_header, self->settings.subscription_key);
  req.body() = t.request_body;
  req.prepare_payload();
  const auto deadline = std::chrono::steady_clock::now() + self->settings.request_timeout;
  // One retry on a fresh connection when a kept-alive one turned out closed before anything
  // was read (the request never reached the Nodo's application).
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto conn = self->take(e);
    const bool reused = conn->connected();
    auto r = co_await conn->exchange(req, deadline, self->settings.max_response_bytes);
    if (r.res) {
      t.http_status = r.res->result_int();
      t.response_body = std::move(r.res->body());
      self->give_back(e, std::move(conn));
      break;
    }
    if (!(reused && r.nothing_read)) {
      t.transport_error = std::move(r.err);
      break;
    }
  }
  t.finished = std::chrono::system_clock::now();
  co_return t;
}

namespace {

// The typed value of an exchange: transport failure, unreadable answer, or the decoded answer
// (a faultBean inside it is a value). HTTP status other than 200 still carries a SOAP body.
template <class T, class Decode>
core::result<T> value_of(const exchange_trace& t, Decode decode) {
  if (t.transport_error) return std::unexpected(*t.transport_error);
  auto v = decode(t.response_body);
  if (!v && t.http_status && *t.http_status != 200) {
    return core::fail(v.error().code == core::errc::unavailable ? core::errc::unavailable
                                                                : core::errc::invalid_input,
                      "HTTP " + std::to_string(*t.http_status) + ": " + v.error().message);
  }
  return v;
}

// One typed call: the request's envelope posted, the answer decoded, both in the reply. The
// envelope is a parameter, so it lives in the coroutine's frame (GCC 12 mishandles
// temporaries inside a co_await operand).
template <class T>
asio::awaitable<reply<T>> typed_call(client& c, operation op, std::string envelope,
                                     core::result<T> (*decode)(std::string_view)) {
  auto t = co_await c.post(op, std::move(envelope));
  auto v = value_of<T>(t, decode);
  co_return reply<T>{std::move(v), std::move(t)};
}

}  // namespace

station_credentials credentials_for(const config::nodo_settings& settings,
                                    const station_credentials& own, std::string_view station_id,
                                    std::string_view broker_id) {
  station_credentials who = own;
  // The Nodo checks the password against the station named in the call (NodoPerPa.wsdl
  // identificativoStazioneIntermediarioPA, password): each station has its own, so another
  // station's call takes that station's, never the client's.
  if (!station_id.empty() && station_id != own.station_id) {
    who.station_id = station_id;
    who.password = settings.password_for(station_id);
  }
  if (!broker_id.empty()) who.broker_id = broker_id;
  return who;
}

// nodoInviaRPT names the entity's station; the other primitives go out under the client's own
// station, whose password the client was built with.
asio::awaitable<reply<invia_rpt_response>> client::invia_rpt(invia_rpt_request rq) {
  const auto who = credentials_for(impl_->settings, impl_->station, rq.station_id, rq.broker_id);
  return typed_call(*this, operation::nodo_invia_rpt, encode(who, rq), decode_invia_rpt);
}

asio::awaitable<reply<chiedi_copia_rt_response>> client::chiedi_copia_rt(
    chiedi_copia_rt_request rq) {
  return typed_call(*this, operation::nodo_chiedi_copia_rt, encode(impl_->station, rq),
                    decode_chiedi_copia_rt);
}

asio::awaitable<reply<esito_response>> client::invia_richiesta_storno(
    invia_richiesta_storno_request rq) {
  return typed_call(*this, operation::nodo_invia_richiesta_storno, encode(impl_->station, rq),
                    decode_invia_richiesta_storno);
}

asio::awaitable<reply<elenco_flussi_response>> client::chiedi_elenco_flussi(
    elenco_flussi_request rq) {
  return typed_call(*this, operation::nodo_chiedi_elenco_flussi_rendicontazione,
                    encode(impl_->station, rq), decode_elenco_flussi);
}

asio::awaitable<reply<flusso_response>> client::chiedi_flusso(flusso_request rq) {
  return typed_call(*this, operation::nodo_chiedi_flusso_rendicontazione,
                    encode(impl_->station, rq), decode_flusso);
}

}  // namespace pagohub::nodo_client
