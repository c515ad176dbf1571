// One push attempt: the PUT to the back-office and its INTERFACCIA exchange (push_attempt.hpp).
#include "push_attempt.hpp"

#include <pagohub/core/ids.hpp>
#include <pagohub/integration/retry_policy.hpp>
#include <pagohub/journal/writer.hpp>

#include "message_body.hpp"

namespace pagohub::integration::detail {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

// Whether the journal's payload policy for webhooks keeps any bodies (at least on errors).
bool bodies_may_be_kept(const journal::payload_rules& rules) {
  journal::event probe;
  probe.interface = journal::interface_kind::webhook;
  probe.outcome = "KO";
  probe.message = journal::payload{};
  return rules.prepare_would_keep(probe);
}

// The attempt as INTERFACCIA req and rsp events (docs/journal.md), through the writer: queued
// and written in batches by its thread, never a database round trip here. They report a
// message leaving the gateway, so they are never dropped: with the queue full, this waits.
asio::awaitable<void> journal_exchange(const push_context& ctx, const config::integration& cfg,
                                       const claimed_message& m, const attempt_result& r,
                                       const std::string& url, std::optional<journal::payload> sent,
                                       std::optional<journal::payload> answer,
                                       std::string answer_body) {
  journal::exchange x;
  x.cat = journal::category::interfaccia;
  x.interface = journal::interface_kind::webhook;
  x.component = "integration";
  x.type = m.kind == "receipt" ? "PUT /receipts/{receiptId}" : "PUT /events/{eventId}";
  x.entity_fc = m.entity_fc;
  x.notice_number = m.notice_number;
  x.iuv = m.iuv;
  if (m.kind == "receipt") x.ccp = m.key;
  x.caller_id = "pagohubd";
  x.provider_id = cfg.id;
  x.request_id = r.request_id;
  x.by = journal::actor{"system", "delivery"};
  x.started = r.started;
  x.finished = r.started + r.duration;
  x.http_status = r.http_status;
  x.outcome = r.outcome == verdict::delivered ? "OK" : "KO";
  // No credentials can be in the URL (refused by configuration); without an answer the error
  // says why (timeout, refused), since there is no status.
  x.interface_params = "integration=" + cfg.id + " url=" + url + " key=" + m.key +
                       " attempt=" + std::to_string(m.attempt);
  if (!r.http_status && !r.error.empty()) x.interface_params += " error=" + r.error;
  auto [req, rsp] = journal::make_events(std::move(x));
  req.message = std::move(sent);
  if (req.message && !ctx.rules.prepare_would_keep(req)) req.message.reset();
  rsp.message = std::move(answer);
  if (rsp.message) {
    if (ctx.rules.prepare_would_keep(rsp)) {
      rsp.message->body = std::move(answer_body);
    } else {
      rsp.message.reset();
    }
  }
  co_await ctx.events->enqueue(std::move(req), true);
  co_await ctx.events->enqueue(std::move(rsp), true);
}

}  // namespace

asio::awaitable<attempt_result> push_attempt(bo_client& client, const config::integration& cfg,
                                             const claimed_message& m,
                                             const std::optional<std::string>& receipt,
                                             steady::time_point send_by, const push_context& ctx) {
  attempt_result r;
  r.id = m.id;
  r.via = "push";
  // One id per attempt: the back-office may log it, and the journal's req and rsp events and
  // the outcome's INTERNO event carry it.
  r.request_id = core::new_request_id();
  // Built before the co_await: GCC 12 mis-compiles braced string-literal initialisers
  // inside a coroutine's co_await expression.
  std::vector<std::pair<std::string, std::string>> headers;
  // The key is unique per entity only (an old-model receipt's id is chosen by its PSP), and
  // one integration may serve several entities: the entity travels with it, so that a
  // back-office can deduplicate on the pair without parsing the body first.
  headers.emplace_back("Idempotency-Key", header_key(m.key));
  headers.emplace_back("X-Pagohub-Entity", m.entity_fc);
  headers.emplace_back("X-Pagohub-Event", m.kind);
  headers.emplace_back("X-Pagohub-Attempt", std::to_string(m.attempt));
  headers.emplace_back("X-Request-Id", r.request_id);
  std::string path = target_path(m.kind, m.key);
  std::string body = body_of(m, receipt);
  const bool journaled = ctx.events != nullptr && ctx.events->recording_interfaccia();
  // The request as sent, for the journal: copied only when its payload policy may keep it.
  std::optional<journal::payload> sent;
  if (journaled) {
    sent = journal::payload{"application/json", headers, {}};
    if (bodies_may_be_kept(ctx.rules)) sent->body = body;
  }
  const std::string url = cfg.base_url + path;
  const auto asked = ctx.clock.now();
  const auto t0 = steady::now();
  // The wait for a connection is bounded by the batch's time, the request by the whole
  // timeout from when it has one.
  auto a = co_await client.attempt(boost::beast::http::verb::put, std::move(path), std::move(body),
                                   "application/json", send_by, std::move(headers));
  if (!a.sent) {
    // Nothing left the gateway: no attempt, no exchange to journal.
    r.sent = false;
    r.started = asked;
    r.error = a.result ? std::string() : a.result.error().message;
    co_return r;
  }
  r.started =
      asked + std::chrono::duration_cast<std::chrono::system_clock::duration>(a.started - t0);
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - a.started);
  auto& res = a.result;
  std::optional<journal::payload> answer;
  // The whole answer stays only as long as this attempt is journaled; the batch keeps what
  // is recorded of it.
  std::string answer_body;
  if (!res) {
    r.outcome = verdict::retry;
    r.error = res.error().message;
  } else {
    r.http_status = static_cast<int>(res->status);
    if (journaled) answer = journal::payload{res->content_type, {}, {}};
    answer_body = std::move(res->body);
    r.response_body = truncate_utf8(answer_body, max_answer_kept);
    r.outcome = judge_status(res->status);
    if (r.outcome != verdict::delivered) {
      r.error = "HTTP " + std::to_string(res->status) + " from the back-office";
      if (!answer_body.empty()) r.error += ": " + truncate_utf8(answer_body, 300);
    }
  }
  if (journaled) {
    co_await journal_exchange(ctx, cfg, m, r, url, std::move(sent), std::move(answer),
                              std::move(answer_body));
  }
  co_return r;
}

}  // namespace pagohub::integration::detail
