// On-demand positions: the lookup at the back-office and the store of what it answers
// (on_demand/lookup.hpp; docs/integration.md "On-demand positions").
#include <pagohub/db/errors.hpp>
#include <pagohub/db/sql_time.hpp>
#include <pagohub/on_demand/lookup.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/store.hpp>
#include <pagohub/positions/validation.hpp>

#include <spdlog/spdlog.h>
#include <boost/beast/http/verb.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>

#include "position_json.hpp"

namespace pagohub::integration {

namespace {

using pap::on_demand_failure;
using resolve_result = std::expected<std::optional<positions::position>, on_demand_failure>;

// A store refusal after the upsert: rolls the transaction back, caught below.
struct store_refused : db::rollback {
  explicit store_refused(core::error e) : err(std::move(e)) {}
  const char* what() const noexcept override { return "store refused"; }
  core::error err;
};

// How long after the lookup started its position must be stored: the Nodo's verify is answered
// within 1.5 s (docs/integration.md "On-demand positions"; the Nodo expects 98% of answers
// within 2 s, DIGEST §0), and lookup_budget_ms (at most 1400) leaves the store the rest.
constexpr std::chrono::milliseconds answer_within{1500};

// Bounds each statement of a transaction started under `deadline` by the time left, should the
// executor's cancel at the deadline not reach the server (no connection to send it from). No
// time left once a connection was free is a sign of strain, counted with the database's
// failures like a deadline the executor enforces.
void bound_statements(pqxx::work& w, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() < 1) throw db::deadline_error("no time left within the lookup's budget");
  w.exec_params("SELECT set_config('statement_timeout', $1, true)", std::to_string(left.count()));
}

// The first few field errors, for the fault description (the Nodo shows it to nobody but the
// operators; the journal keeps the exchange).
std::string describe(const std::vector<http::field_error>& errors) {
  std::string out;
  for (std::size_t i = 0; i < errors.size() && i < 3; ++i) {
    if (i != 0) out += "; ";
    out += errors[i].path + " " + errors[i].message;
  }
  if (errors.size() > 3) out += "; and " + std::to_string(errors.size() - 3) + " more";
  return out;
}

std::string describe(const std::vector<positions::field_error>& errors) {
  std::vector<http::field_error> h;
  for (const auto& e : errors) h.push_back({e.path, e.code, e.message});
  return describe(h);
}

// The GET as INTERFACCIA req and rsp events (docs/journal.md), through the writer: queued,
// written in batches by its thread. A lookup is a read: with the queue full its events are
// dropped (counted) rather than delaying the verify; the position it stores has its own INTERNO
// event in the storing transaction.
boost::asio::awaitable<void> journal_lookup(journal::writer& events,
                                            const journal::payload_rules& rules,
                                            journal::exchange x,
                                            const core::result<bo_response>& answer) {
  x.cat = journal::category::interfaccia;
  x.interface = journal::interface_kind::webhook;
  x.component = "integration";
  x.type = "GET /notices/{noticeNumber}";
  x.caller_id = "pagohubd";
  x.by = journal::actor{"system", "on_demand"};
  if (answer) {
    x.http_status = static_cast<int>(answer->status);
    // 404 is an answer of the contract ("not known"), not a failure of the exchange.
    x.outcome = answer->status == 200 || answer->status == 404 ? "OK" : "KO";
  } else {
    x.outcome = "KO";
    x.interface_params += " error=" + answer.error().message;
  }
  auto [req, rsp] = journal::make_events(std::move(x));
  if (answer) {
    rsp.message = journal::payload{answer->content_type, {}, {}};
    if (rules.prepare_would_keep(rsp)) {
      rsp.message->body = answer->body;
    } else {
      rsp.message.reset();
    }
  }
  co_await events.enqueue(std::move(req), false);
  co_await events.enqueue(std::move(rsp), false);
}

}  // namespace

const config::service* lookup_service(const config::entity& entity,
                                      const std::optional<positions::position>& stored) {
  if (stored) {
    const config::service* s = entity.find_service(stored->service_code);
    return s != nullptr && !s->lookup.empty() ? s : nullptr;
  }
  for (const auto& s : entity.services)
    if (!s.lookup.empty()) return &s;
  return nullptr;
}

bool needs_lookup(const std::optional<positions::position>& stored, std::string_view notice_number,
                  positions::timestamp now) {
  if (!stored) return true;
  const auto& p = *stored;
  if (p.status != positions::position_status::valid &&
      p.status != positions::position_status::expired) {
    return false;  // not payable anyway (draft, paid, cancelled): the store's answer stands
  }
  const auto it = std::find_if(p.options.begin(), p.options.end(),
                               [&](const auto& o) { return o.notice_number == notice_number; });
  if (it == p.options.end() || it->status != positions::option_status::unpaid) return false;
  return it->due_date < positions::rome_date(now);
}

namespace {

// The position for a notice not stored when the verify began: created, unless its key is taken
// by then. A concurrent verify of the same notice may have stored it (the same answer: replaced
// with it); a position holding other notices is not this one, and is left alone.
core::result<positions::upsert_outcome> create_or_same(pqxx::work& w, const config::entity& entity,
                                                       const std::string& application_id,
                                                       const positions::position& p,
                                                       const std::string& notice_number,
                                                       const positions::actor& by,
                                                       positions::timestamp now) {
  auto made = positions::create_only(w, entity, application_id, p, by, now);
  if (!made) return std::unexpected(std::move(made).error());
  if (*made) return **std::move(made);
  const auto taken =
      positions::find_by_external_id(w, entity.fiscal_code.str(), application_id, p.external_id);
  const bool same =
      taken && std::any_of(taken->options.begin(), taken->options.end(),
                           [&](const auto& o) { return o.notice_number == notice_number; });
  if (!same) {
    return core::fail(core::errc::conflict,
                      "externalId " + p.external_id +
                          " is another position of the application, without notice " +
                          notice_number,
                      "/externalId");
  }
  return positions::upsert_existing(w, entity, application_id, p, by, now);
}

}  // namespace

on_demand_lookup::on_demand_lookup(on_demand_deps deps) : deps_(std::move(deps)) {}

boost::asio::awaitable<resolve_result> on_demand_lookup::resolve(
    const config::entity& entity, std::string notice_number,
    std::optional<positions::position> stored, std::string request_id,
    std::chrono::steady_clock::time_point received) {
  const auto now = deps_.clock.now();
  const config::service* svc = lookup_service(entity, stored);
  if (svc == nullptr || !needs_lookup(stored, notice_number, now)) co_return stored;

  // The budgets count from the request's arrival: what came before (the station's checks, the
  // store's read, a wait for a connection) is part of the Nodo's time too.
  const auto started = received == std::chrono::steady_clock::time_point{}
                           ? std::chrono::steady_clock::now()
                           : std::min(received, std::chrono::steady_clock::now());
  const auto deadline = started + std::chrono::milliseconds(svc->lookup_budget_ms);
  const std::string fc = entity.fiscal_code.str();
  // Every failure ends here: the stored data when the service allows it, else the fault.
  const auto fail = [&](std::string why) -> resolve_result {
    spdlog::warn("rid={} on-demand lookup of notice {} of {} at integration {} failed: {}",
                 request_id, notice_number, fc, svc->lookup, why);
    if (svc->lookup_fallback_stored && stored) {
      ++fallback_;
      return stored;
    }
    ++failed_;
    return std::unexpected(on_demand_failure{"on-demand lookup at the back-office failed: " + why});
  };

  std::optional<lookup_target> target;
  if (deps_.targets) target = deps_.targets(svc->lookup);
  if (!target) co_return fail("integration " + svc->lookup + " is not configured");
  if (!target->client) {
    co_return fail("the endpoint of integration " + svc->lookup +
                   " cannot be used: its client cannot be built (a TLS file unreadable or "
                   "invalid; the daemon's log says which, and pagohub_on_demand_endpoint_failed "
                   "is 2)");
  }
  // A position another application loaded (a bulk import of the same service) is that
  // application's: the back-office could only answer with a position it may not replace, and
  // it would hear of another application's notice. The store's answer stands (decided before
  // the integration's state is read: no round trip for it).
  if (stored && stored->application_id != target->application_id) co_return stored;
  // An operator's suspend or resume (integration_states, docs/integration.md "Operator
  // actions") wins over the configured state, as it does for deliveries. In the same
  // transaction: whether a 2018-model payment of the stored position is in progress
  // (sql/0030). The PSP's RPT carries the stored amounts, and the position cannot be replaced
  // until its RT: the store's answer stands, without asking the back-office.
  struct state_read {
    std::optional<bool> active;
    bool payment_in_progress = false;
  };
  state_read state;
  try {
    // Given up at the lookup's deadline if no connection is free (there would be no time left
    // to ask the back-office), and cancelled if still running then: a lock queued on one of
    // the tables it reads (a migration, a VACUUM FULL) must not hold the Nodo's answer either.
    state = co_await deps_.db.transact_within(
        deadline,
        [&](pqxx::work& w) {
          bound_statements(w, deadline);
          state_read out;
          const auto r = w.exec_params(
              "SELECT state = 'ACTIVE' FROM integration_states WHERE integration_id = $1",
              svc->lookup);
          if (!r.empty()) out.active = r[0][0].as<bool>();
          if (stored) {
            out.payment_in_progress = !w.exec_params(
                                            "SELECT 1 FROM rpt_payment_in_progress($1, $2, "
                                            "'epoch'::timestamptz + $3 * interval '1 microsecond')",
                                            fc, stored->id, db::to_micros(now))
                                           .empty();
          }
          return out;
        },
        db::isolation::read_committed, db::access::read_only);
  } catch (const std::exception& e) {
    co_return fail(std::string("the integration's state could not be read: ") + e.what());
  }
  if (state.payment_in_progress) co_return stored;
  if (!state.active.value_or(target->active)) {
    co_return fail("integration " + svc->lookup + " is suspended");
  }
  // Built before the co_await: GCC 12 cannot keep brace-initialised string literals in a
  // coroutine frame ("array used as initializer").
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back(std::string("Accept"), std::string("application/json"));
  headers.emplace_back(std::string("X-Request-Id"), request_id);
  const auto sent_at = deps_.clock.now();
  auto answer =
      co_await target->client->request(boost::beast::http::verb::get, "/notices/" + notice_number,
                                       std::string(), std::string(), deadline, std::move(headers));
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (deps_.events != nullptr && deps_.events->recording_interfaccia()) {
    // The request id is the Nodo's exchange's: the SOAP events, this GET and the stored
    // position's INTERNO event share it.
    journal::exchange x;
    x.entity_fc = fc;
    x.notice_number = notice_number;
    x.provider_id = svc->lookup;
    x.request_id = request_id;
    x.started = sent_at;
    x.finished = deps_.clock.now();
    x.interface_params = "integration=" + svc->lookup +
                         " url=" + target->client->endpoint().base_url + "/notices/" +
                         notice_number;
    co_await journal_lookup(
        *deps_.events, deps_.rules != nullptr ? *deps_.rules : journal::payload_rules::defaults(),
        std::move(x), answer);
  }
  if (!answer) {
    co_return fail(answer.error().code == core::errc::timeout
                       ? "no answer within " + std::to_string(svc->lookup_budget_ms) + " ms"
                       : "the back-office could not be reached (" + answer.error().message + ")");
  }
  // docs/api/bo-webhooks.yaml: 404 = the back-office does not know the notice either.
  if (answer->status == 404) {
    ++unknown_;
    spdlog::info("rid={} on-demand lookup: notice {} of {} unknown to the back-office ({} ms)",
                 request_id, notice_number, fc, elapsed.count());
    co_return std::nullopt;
  }
  if (answer->status != 200) {
    co_return fail("the back-office answered HTTP " + std::to_string(answer->status));
  }

  // The answer is a position in the REST PUT body's shape, judged exactly like one.
  auto decoded = api::decode_position(answer->body);
  if (!decoded) {
    co_return fail(decoded.error().syntax
                       ? std::string("the answer is not JSON")
                       : "the answer is not a valid position: " + describe(decoded.error().errors));
  }
  positions::position p = *std::move(decoded);
  // The external id may be left out: the notice number is then the position's key.
  if (p.external_id.empty()) p.external_id = notice_number;
  p.application_id = target->application_id;
  const bool has_notice = std::any_of(p.options.begin(), p.options.end(), [&](const auto& o) {
    return o.notice_number == notice_number;
  });
  if (!has_notice) {
    co_return fail("the answer has no payment option with noticeNumber " + notice_number);
  }
  const config::service* answered = entity.find_service(p.service_code);
  if (answered == nullptr || answered->lookup != svc->lookup) {
    co_return fail("serviceCode " + p.service_code + " is not a service looked up at integration " +
                   svc->lookup);
  }
  // The answer may refresh the position holding the notice, or create one: never take another
  // position's key, whose own notices would go (a PSP that verified one of them would then find
  // it unknown).
  if (stored &&
      (stored->application_id != p.application_id || stored->external_id != p.external_id)) {
    co_return fail("the answer names externalId " + p.external_id + ", but notice " +
                   notice_number + " belongs to position " + stored->external_id +
                   (stored->application_id != p.application_id
                        ? " of application " + stored->application_id
                        : std::string()));
  }
  const auto registry = deps_.registry.get();
  positions::normalize(p, entity);
  // As a create: due dates from today on (the point of asking is an up-to-date amount). A
  // notice number outside the entity's notice space is judged by the store, which knows whether
  // the application issued it before the space changed (positions::owned_notices).
  positions::validation_context vc{entity, *registry, positions::rome_date(now), /*is_new=*/true};
  vc.owns_notice = [](const std::string&) { return true; };
  const auto errors = positions::validate(p, vc);
  if (!errors.empty()) {
    co_return fail("the answer is not a valid position: " + describe(errors));
  }

  // Stored and published in one transaction with its journal event (ARCHITECTURE §5), before
  // the Nodo hears of it, so getPayment and the receipt find exactly this position.
  const positions::actor by{"application", target->application_id, request_id};
  const auto& rules = deps_.rules != nullptr ? *deps_.rules : journal::payload_rules::defaults();
  // The store gets what is left of the verify's time: lock waits behind other writers of the
  // position (or a database that is unwell) must not hold the Nodo's answer.
  const auto store_by =
      started + std::max(answer_within, std::chrono::milliseconds(svc->lookup_budget_ms + 100));
  std::optional<positions::position> published;
  std::optional<core::error> refused;
  bool late = false;
  for (int attempt = 0; attempt < 2 && !published && !refused && !late; ++attempt) {
    try {
      // Withdrawn if no connection is free by store_by (a saturated pool must not hold the
      // Nodo's answer either), and cancelled if still running then: store_by bounds the whole
      // transaction, however its time is spread over statements and lock waits.
      published = co_await deps_.db.transact_within(store_by, [&](pqxx::work& w) {
        bound_statements(w, store_by);
        core::result<positions::upsert_outcome> up =
            stored ? positions::upsert_existing(w, entity, target->application_id, p, by, now)
                   : create_or_same(w, entity, target->application_id, p, notice_number, by, now);
        if (!up) throw store_refused(std::move(up).error());
        auto pub = positions::publish(w, fc, target->application_id, p.external_id, by, now);
        if (!pub) throw store_refused(std::move(pub).error());
        journal::event e;
        e.time = now;
        e.cat = journal::category::interno;
        e.entity_fc = fc;
        e.component = "integration";
        e.type = "onDemandLookup";
        e.subtype = up->created ? "CREATED" : "REPLACED";
        e.caller_id = "pagohubd";
        e.provider_id = target->application_id;
        e.outcome = "OK";
        e.request_id = request_id;
        e.notice_number = notice_number;
        e.by = journal::actor{"application", target->application_id};
        e.duration_ms = static_cast<int>(elapsed.count());
        e.http_status = static_cast<int>(answer->status);
        e.interface_params = "integration=" + svc->lookup + " externalId=" + p.external_id;
        journal::record_internal(w, e, rules);
        return *std::move(pub);
      });
    } catch (const store_refused& e) {
      refused = e.err;
    } catch (const db::deadline_error&) {  // withdrawn unstarted, late, or cancelled at store_by
      late = true;
    } catch (const pqxx::unique_violation&) {
      // Two verifies of one unknown notice at once: the other stored it first; the second
      // attempt replaces it with this (identical) answer.
      if (attempt == 1) throw;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "57014") throw;  // query_canceled: the statement timeout set above
      late = true;
    }
  }
  if (late) {
    co_return fail(
        "the position could not be stored within " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(store_by - started).count()) +
        " ms of the lookup's start");
  }
  if (refused) {
    co_return fail("the position could not be stored: " + refused->message +
                   (refused->path.empty() ? "" : " (" + refused->path + ")"));
  }
  ++stored_;
  spdlog::info("rid={} on-demand lookup: notice {} of {} stored as {} ({} ms)", request_id,
               notice_number, fc, p.external_id, elapsed.count());
  co_return published;
}

void on_demand_lookup::append_metrics(std::string& out) const {
  out +=
      "# HELP pagohub_on_demand_lookups_total On-demand position lookups at back-offices, by "
      "outcome.\n"
      "# TYPE pagohub_on_demand_lookups_total counter\n";
  const auto line = [&](const char* outcome, const std::atomic<std::uint64_t>& n) {
    out += "pagohub_on_demand_lookups_total{outcome=\"";
    out += outcome;
    out += "\"} " + std::to_string(n.load()) + "\n";
  };
  line("stored", stored_);
  line("unknown", unknown_);
  line("failed", failed_);
  line("fallback_stored", fallback_);
}

}  // namespace pagohub::integration
