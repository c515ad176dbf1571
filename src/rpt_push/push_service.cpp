#include <pagohub/core/ids.hpp>
#include <pagohub/core/text.hpp>
#include <pagohub/db/prepared.hpp>
#include <pagohub/journal/event.hpp>
#include <pagohub/rpt_push/push_service.hpp>
#include <pagohub/rpt_push/rpt_builder.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <map>

namespace pagohub::rpt_push {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds base,
                                  std::chrono::milliseconds max) noexcept {
  auto d = base;
  for (int i = 1; i < attempt && d < max; ++i) d *= 2;
  return std::min(d, max);
}

namespace {

constexpr const char* push_actor = "rpt-push";
constexpr const char* nodo_id = "NodoDeiPagamentiSPC";

// An activation claimed for an attempt, with what its RPT is made of.
struct claimed {
  std::string fc;
  std::int64_t id = 0;
  std::string iuv, ccp, notice;
  std::optional<std::int64_t> option_id;
  std::string psp, psp_broker, channel;
  std::int64_t amount = 0;
  std::string iban;
  int attempt = 0;                  // this attempt's number, 1-based
  std::string claim_until;          // next_attempt_at the claim wrote (text: exact)
  std::string message_id, rpt_xml;  // empty until generated
  std::string request_id;
  bool position_found = false;
  rpt_payer payer;
  std::vector<rpt_transfer> transfers;
  // The station and broker serving the entity (its own, or [daemon]'s): the PSP's
  // paaAttivaRPT came through that station (pap/station_checks.cpp), so its RPT goes out under
  // it too. Empty when the entity is no longer configured: the push settings' station.
  std::string station_id, broker_id;
};

std::string str(const pqxx::field& f) {
  return f.is_null() ? std::string{} : f.as<std::string>();
}

// Claims up to `limit` due activations: FOR UPDATE SKIP LOCKED, and next_attempt_at moved to
// the claim's expiry so that no other daemon takes them while this attempt runs. The claim is
// known by the pair (push_attempts, next_attempt_at) it writes: every later claim, by this
// daemon or another, changes push_attempts, so the pair says whose the row is now.
std::vector<claimed> claim(pqxx::work& w, int limit, std::chrono::milliseconds ttl) {
  const auto r = w.exec_params(
      "WITH due AS ("
      " SELECT a.entity_fiscal_code, a.id, o.id AS option_id, p.id IS NOT NULL AS found,"
      "  p.debtor_type, p.debtor_fiscal_code, p.debtor_full_name, p.debtor_street_name,"
      "  p.debtor_civic_number, p.debtor_postal_code, p.debtor_city,"
      "  p.debtor_state_province_region, p.debtor_country"
      " FROM rpt_activations a"
      " LEFT JOIN positions p ON p.entity_fiscal_code = a.entity_fiscal_code"
      "  AND p.id = a.position_id"
      " LEFT JOIN payment_options o ON o.entity_fiscal_code = a.entity_fiscal_code"
      "  AND o.notice_number = a.notice_number"
      " WHERE a.push_state = 'PENDING' AND a.state = 'EXPECTED'"
      "  AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= now())"
      " ORDER BY a.next_attempt_at NULLS FIRST, a.id LIMIT $1"
      " FOR UPDATE OF a SKIP LOCKED) "
      "UPDATE rpt_activations a SET push_attempts = a.push_attempts + 1,"
      " next_attempt_at = now() + $2 * interval '1 millisecond'"
      " FROM due WHERE a.entity_fiscal_code = due.entity_fiscal_code AND a.id = due.id "
      "RETURNING a.entity_fiscal_code, a.id, a.iuv, a.ccp, a.notice_number, due.option_id,"
      " a.psp_id, a.psp_broker_id, a.channel_id, a.amount, a.iban, a.push_attempts,"
      " a.rpt_message_id, a.rpt_xml, a.request_id, due.found, due.debtor_type,"
      " due.debtor_fiscal_code, due.debtor_full_name, due.debtor_street_name,"
      " due.debtor_civic_number, due.debtor_postal_code, due.debtor_city,"
      " due.debtor_state_province_region, due.debtor_country, a.next_attempt_at::text",
      limit, static_cast<long long>(ttl.count()));
  std::vector<claimed> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    claimed c;
    c.fc = row[0].as<std::string>();
    c.id = row[1].as<std::int64_t>();
    c.iuv = row[2].as<std::string>();
    c.ccp = row[3].as<std::string>();
    c.notice = row[4].as<std::string>();
    if (!row[5].is_null()) c.option_id = row[5].as<std::int64_t>();
    c.psp = row[6].as<std::string>();
    c.psp_broker = row[7].as<std::string>();
    c.channel = row[8].as<std::string>();
    c.amount = row[9].as<std::int64_t>();
    c.iban = row[10].as<std::string>();
    c.attempt = row[11].as<int>();
    c.message_id = str(row[12]);
    c.rpt_xml = str(row[13]);
    c.request_id = str(row[14]);
    c.position_found = row[15].as<bool>();
    c.payer.type = str(row[16]);
    c.payer.fiscal_code = str(row[17]);
    c.payer.full_name = str(row[18]);
    c.payer.street = db::optional_text(row[19]);
    c.payer.civic_number = db::optional_text(row[20]);
    c.payer.postal_code = db::optional_text(row[21]);
    c.payer.city = db::optional_text(row[22]);
    c.payer.province = db::optional_text(row[23]);
    c.payer.country = db::optional_text(row[24]);
    c.claim_until = row[25].as<std::string>();
    out.push_back(std::move(c));
  }
  // The transfers of every claimed option, in one statement (no round trip per row).
  std::string fcs = "{", ids = "{";
  bool any = false;
  for (const auto& c : out) {
    if (!c.option_id || !c.rpt_xml.empty()) continue;
    fcs += (any ? "," : "") + c.fc;  // 11 digits: no quoting needed in an array literal
    ids += (any ? "," : "") + std::to_string(*c.option_id);
    any = true;
  }
  if (!any) return out;
  fcs += "}";
  ids += "}";
  const auto t = w.exec_params(
      "SELECT t.entity_fiscal_code, t.option_id, t.amount, coalesce(t.iban, t.postal_iban, ''),"
      " t.remittance_information, t.taxonomy, t.stamp_type, t.stamp_document_hash,"
      " t.stamp_province"
      " FROM transfers t JOIN unnest($1::text[], $2::bigint[]) AS k(fc, oid)"
      "  ON t.entity_fiscal_code = k.fc AND t.option_id = k.oid"
      " ORDER BY t.entity_fiscal_code, t.option_id, t.transfer_index",
      fcs, ids);
  std::map<std::pair<std::string, std::int64_t>, std::vector<rpt_transfer>> by_option;
  for (const auto& row : t) {
    rpt_transfer tr;
    tr.amount = row[2].as<std::int64_t>();
    tr.iban = row[3].as<std::string>();
    tr.remittance = row[4].as<std::string>();
    tr.collection_data = collection_data_of(row[5].as<std::string>());
    tr.stamp_type = db::optional_text(row[6]);
    tr.stamp_hash = db::optional_text(row[7]);
    tr.stamp_province = db::optional_text(row[8]);
    by_option[{row[0].as<std::string>(), row[1].as<std::int64_t>()}].push_back(std::move(tr));
  }
  for (auto& c : out) {
    if (!c.option_id) continue;
    if (auto it = by_option.find({c.fc, *c.option_id}); it != by_option.end())
      c.transfers = it->second;
  }
  return out;
}

// Keeps the RPT generated for this attempt before it leaves, so that every later attempt, here
// or at another daemon, re-sends this very document (0015: the RPT is generated once and kept;
// SANP2 §8.2.3.2). Runs in the claim's transaction: the row is locked and still this claim's.
void store_rpt(pqxx::work& w, const claimed& c) {
  w.exec_params(
      "UPDATE rpt_activations SET rpt_message_id = $3, rpt_xml = $4"
      " WHERE entity_fiscal_code = $1 AND id = $2 AND rpt_xml IS NULL",
      c.fc, c.id, c.message_id, c.rpt_xml);
}

// What an attempt came to.
struct outcome {
  std::string push_state;    // PENDING (retry), SENT, FAILED
  std::string nodo_outcome;  // OK, PPT_RPT_DUPLICATA (SENT only)
  std::string fault_code;
  std::string error;
  std::chrono::milliseconds retry_in{0};
};

}  // namespace

struct push_service::state : std::enable_shared_from_this<state> {
  asio::io_context& ioc;
  db::executor& db;
  nodo_client::client& nodo;
  config::registry_holder& registry;
  const core::clock& clock;
  push_settings settings;
  std::atomic<bool> stopped{false};
  std::atomic<std::uint64_t> n_sent{0}, n_duplicate{0}, n_retried{0}, n_failed{0};

  state(asio::io_context& i, db::executor& d, nodo_client::client& n, config::registry_holder& r,
        const core::clock& c, push_settings s)
      : ioc(i), db(d), nodo(n), registry(r), clock(c), settings(std::move(s)) {}

  const std::string& station_of(const claimed& c) const {
    return c.station_id.empty() ? settings.station_id : c.station_id;
  }

  // Builds the RPT of `c` once (kept in the row afterwards: a retry re-sends the same one).
  core::result<void> prepare(claimed& c) {
    if (!c.rpt_xml.empty()) return {};
    if (!c.position_found || !c.option_id || c.transfers.empty())
      return core::fail(core::errc::not_found,
                        "the activation's position or payment option is gone");
    rpt_input in;
    in.entity_fc = c.fc;
    if (const auto reg = registry.get()) {
      if (const auto* e = reg->find(c.fc)) in.entity_name = e->name;
    }
    in.station_id = station_of(c);
    in.message_id = core::new_uuid();
    std::erase(in.message_id, '-');
    in.created = clock.now();
    in.iuv = c.iuv;
    in.ccp = c.ccp;
    in.amount = c.amount;
    in.payer = c.payer;
    in.transfers = c.transfers;
    // The account the PSP was given in paaAttivaRPT credits the first transfer (DIGEST §2.1:
    // ibanAccredito must be the one of paaVerificaRPT).
    if (!c.iban.empty() && !in.transfers.front().stamp_type) in.transfers.front().iban = c.iban;
    std::string xml = build_rpt_xml(in);
    // DIGEST §2.3: the RPT must conform to PagInf_RPT_RT_6_2_0.xsd before it leaves.
    if (auto ok = validate_rpt(xml); !ok)
      return core::fail(core::errc::invalid_input,
                        "the RPT does not conform to its schema: " + ok.error().message);
    c.message_id = std::move(in.message_id);
    c.rpt_xml = std::move(xml);
    return {};
  }

  outcome classify(const claimed& c, const nodo_client::reply<nodo_client::invia_rpt_response>& r) {
    outcome o;
    if (r.value && r.value->esito == "OK" && !r.value->fault) {
      o.push_state = "SENT";
      o.nodo_outcome = "OK";
      return o;
    }
    if (r.value && r.value->fault) {
      o.fault_code = r.value->fault->code;
      // SANP2 §8.2.3.2: a repeated RPT for the same (IUV, CCP) is refused as a duplicate; the
      // Nodo has it, which is what the push is for.
      if (o.fault_code == "PPT_RPT_DUPLICATA") {
        o.push_state = "SENT";
        o.nodo_outcome = o.fault_code;
        return o;
      }
      o.error =
          o.fault_code + ": " + r.value->fault->text +
          (r.value->fault->description.empty() ? "" : " (" + r.value->fault->description + ")");
    } else if (r.value) {
      o.error = "esito " + r.value->esito + " without a fault";
    } else {
      o.error = r.value.error().message;
    }
    if (c.attempt >= settings.max_attempts) {
      o.push_state = "FAILED";
    } else {
      o.push_state = "PENDING";
      o.retry_in = backoff(c.attempt, settings.retry_base, settings.retry_max);
    }
    return o;
  }

  // Records the outcome of `c`'s attempt; false when the claim is no longer this daemon's (it
  // lapsed and another daemon claimed the activation, or paaAttivaRPT re-armed it): the row is
  // then left to its current holder and only the exchange, which did happen, is journaled.
  bool record(pqxx::work& w, const claimed& c, const outcome& o,
              const nodo_client::exchange_trace* trace) {
    const auto& rules =
        settings.rules != nullptr ? *settings.rules : journal::payload_rules::defaults();
    // $3 is text everywhere: left bare in the SET it would take the column's domain type
    // and clash with its text uses in the CASEs (one parameter, two deduced types).
    const auto updated = w.exec_params(
        "UPDATE rpt_activations SET push_state = $3::text,"
        " sent_at = CASE WHEN $3::text = 'SENT' THEN now() ELSE sent_at END,"
        " next_attempt_at = CASE WHEN $3::text = 'PENDING'"
        "  THEN now() + $4 * interval '1 millisecond' END,"
        " nodo_outcome = nullif($5, ''), last_error = nullif($6, '')"
        " WHERE entity_fiscal_code = $1 AND id = $2 AND push_state = 'PENDING'"
        "  AND push_attempts = $7 AND next_attempt_at = $8::timestamptz",
        c.fc, c.id, o.push_state, static_cast<long long>(o.retry_in.count()), o.nodo_outcome,
        core::utf8_cut(o.error, 1000), c.attempt, c.claim_until);
    const bool ours = updated.affected_rows() == 1;
    if (trace != nullptr) {
      journal::exchange x;
      x.cat = journal::category::interfaccia;
      x.interface = journal::interface_kind::soap_nodo;
      x.component = "rpt_push";
      x.type = "nodoInviaRPT";
      x.entity_fc = c.fc;
      x.iuv = c.iuv;
      x.ccp = c.ccp;
      x.psp_id = c.psp;
      x.payment_type = "PO";
      x.station_id = station_of(c);
      x.channel_id = c.channel;
      x.notice_number = c.notice;
      x.interface_params = "attempt=" + std::to_string(c.attempt);
      x.caller_id = station_of(c);
      x.provider_id = nodo_id;
      x.request_id = c.request_id;
      x.by = {"job", push_actor};
      x.started = trace->started;
      x.finished = trace->finished;
      if (trace->http_status) x.http_status = static_cast<int>(*trace->http_status);
      x.fault_code = o.fault_code;
      x.outcome = o.push_state == "SENT" ? "OK" : "KO";
      x.request = journal::payload{"text/xml; charset=utf-8", {}, trace->request_body};
      if (trace->http_status)
        x.response = journal::payload{"text/xml; charset=utf-8", {}, trace->response_body};
      auto [req, rsp] = journal::make_events(std::move(x));
      journal::record_internal(w, req, rules);
      journal::record_internal(w, rsp, rules);
    }
    if (!ours) return false;
    journal::event e;
    e.cat = journal::category::interno;
    e.interface = journal::interface_kind::internal;
    e.component = "rpt_push";
    e.type = "rptPush";
    e.subtype = o.push_state == "SENT" ? "sent" : o.push_state == "FAILED" ? "failed" : "retry";
    e.entity_fc = c.fc;
    e.iuv = c.iuv;
    e.ccp = c.ccp;
    e.psp_id = c.psp;
    e.payment_type = "PO";
    e.station_id = station_of(c);
    e.channel_id = c.channel;
    e.notice_number = c.notice;
    e.request_id = c.request_id;
    e.outcome = o.push_state == "SENT" ? "OK" : "KO";
    e.fault_code = o.fault_code;
    e.interface_params =
        core::utf8_cut("attempt=" + std::to_string(c.attempt) + " push_state=" + o.push_state +
                           (o.nodo_outcome.empty() ? "" : " nodo=" + o.nodo_outcome) +
                           (o.error.empty() ? "" : " error=" + o.error),
                       512);
    e.by = {"job", push_actor};
    journal::record_internal(w, e, rules);
    return true;
  }

  // One claimed activation and, when nothing could be sent, the failure already recorded with
  // its claim.
  struct step {
    claimed c;
    std::optional<outcome> failed;
  };

  // Claims the next due activation and readies its RPT in one transaction: a newly generated
  // RPT is stored before it is sent, a prepare() failure is recorded at once.
  std::optional<step> claim_next(pqxx::work& w, std::chrono::milliseconds ttl) {
    auto got = claim(w, 1, ttl);
    if (got.empty()) return std::nullopt;
    step s{std::move(got.front()), std::nullopt};
    if (const auto reg = registry.get()) {
      if (const auto* e = reg->find(s.c.fc)) {
        s.c.station_id = e->station_id;
        s.c.broker_id = e->broker_id;
      }
    }
    const bool generate = s.c.rpt_xml.empty();
    if (auto ready = prepare(s.c); !ready) {
      // Nothing to send can be made: no retry will change that.
      outcome o;
      o.push_state = "FAILED";
      o.error = ready.error().message;
      record(w, s.c, o, nullptr);
      s.failed = std::move(o);
    } else if (generate) {
      store_rpt(w, s.c);
    }
    return s;
  }

  // Activations are claimed and sent one at a time: a claim covers one nodoInviaRPT (claim_ttl
  // is more than the client's deadline for a call), so an activation never waits in this
  // daemon's memory behind slow calls while its claim runs out and another daemon sends it too.
  asio::awaitable<pass_result> pass() {
    auto self = shared_from_this();
    pass_result res;
    const int limit = std::max(1, settings.batch_size);
    const auto ttl = std::max(settings.claim_ttl, 1000ms);
    while (res.claimed < limit) {
      // Read before the claim's transaction starts, so that this local deadline is never later
      // than the one the database wrote (now() of that transaction + ttl).
      const auto claim_deadline = std::chrono::steady_clock::now() + ttl;
      auto got = co_await db.transact([&](pqxx::work& w) { return claim_next(w, ttl); });
      if (!got) break;
      ++res.claimed;
      auto& c = got->c;
      outcome o;
      std::optional<nodo_client::exchange_trace> trace;
      if (got->failed) {
        o = std::move(*got->failed);
      } else {
        if (std::chrono::steady_clock::now() >= claim_deadline) {
          // The claim ran out before the RPT left (a stalled database): another daemon may
          // hold the activation now; whoever claims it next sends the stored RPT.
          ++res.lost;
          spdlog::warn("nodoInviaRPT {} IUV {} CCP {}: claim expired before sending, skipped", c.fc,
                       c.iuv, c.ccp);
          continue;
        }
        // A named request: GCC 12 destroys a braced temporary passed to a coroutine twice.
        nodo_client::invia_rpt_request rq{c.fc,         c.iuv,     c.ccp,    c.psp,
                                          c.psp_broker, c.channel, c.rpt_xml};
        rq.station_id = c.station_id;
        rq.broker_id = c.broker_id;
        auto r = co_await nodo.invia_rpt(rq);
        o = classify(c, r);
        trace = std::move(r.trace);
        const bool ours = co_await db.transact(
            [&](pqxx::work& w) { return record(w, c, o, trace ? &*trace : nullptr); });
        if (!ours) {
          ++res.lost;
          spdlog::warn(
              "nodoInviaRPT {} IUV {} CCP {}: attempt {} ended after its claim passed "
              "to another holder; outcome not recorded",
              c.fc, c.iuv, c.ccp, c.attempt);
          continue;
        }
      }
      if (o.push_state == "SENT") {
        ++res.sent;
        (o.nodo_outcome == "OK" ? n_sent : n_duplicate) += 1;
        spdlog::info("nodoInviaRPT {} IUV {} CCP {}: sent ({})", c.fc, c.iuv, c.ccp,
                     o.nodo_outcome);
      } else if (o.push_state == "FAILED") {
        ++res.failed;
        ++n_failed;
        spdlog::error("nodoInviaRPT {} IUV {} CCP {}: given up after attempt {}: {}", c.fc, c.iuv,
                      c.ccp, c.attempt, o.error);
      } else {
        ++res.retried;
        ++n_retried;
        spdlog::warn("nodoInviaRPT {} IUV {} CCP {}: attempt {} failed ({}), next in {} ms", c.fc,
                     c.iuv, c.ccp, c.attempt, o.error, o.retry_in.count());
      }
    }
    co_return res;
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    asio::steady_timer timer(ioc);
    while (!stopped) {
      pass_result r;
      try {
        r = co_await pass();
      } catch (const std::exception& e) {
        // The database is down or the statement failed: the next pass tries again; claimed
        // activations come back when their claim expires.
        spdlog::warn("RPT push pass failed: {}", e.what());
      }
      if (r.claimed >= settings.batch_size && !stopped) continue;  // more may be due
      timer.expires_after(settings.poll_interval);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
};

push_service::push_service(asio::io_context& ioc, db::executor& db, nodo_client::client& nodo,
                           config::registry_holder& registry, const core::clock& clock,
                           push_settings settings)
    : state_(std::make_shared<state>(ioc, db, nodo, registry, clock, std::move(settings))) {}

push_service::~push_service() {
  stop();
}

void push_service::start() {
  asio::co_spawn(state_->ioc, state_->loop(), asio::detached);
}

void push_service::stop() {
  state_->stopped = true;
}

asio::awaitable<pass_result> push_service::run_once() {
  return state_->pass();
}

void push_service::append_metrics(std::string& out) const {
  out += "# HELP pagohub_rpt_push_total nodoInviaRPT attempts of the old-model RPT push.\n";
  out += "# TYPE pagohub_rpt_push_total counter\n";
  out += "pagohub_rpt_push_total{outcome=\"sent\"} " + std::to_string(state_->n_sent.load()) + "\n";
  out += "pagohub_rpt_push_total{outcome=\"duplicate\"} " +
         std::to_string(state_->n_duplicate.load()) + "\n";
  out += "pagohub_rpt_push_total{outcome=\"retry\"} " + std::to_string(state_->n_retried.load()) +
         "\n";
  out += "pagohub_rpt_push_total{outcome=\"failed\"} " + std::to_string(state_->n_failed.load()) +
         "\n";
}

}  // namespace pagohub::rpt_push
