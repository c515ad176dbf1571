// The event journal's bulk write and search figures (bench/journal-bulk-search drives it).
//
//   bench_journal bulk   --conninfo C --sql-dir D --events N
//       N events through the journal's bulk path (the writer: queue, batches, one COPY per
//       batch into the partitioned, indexed journal_events) against a plain COPY of the same
//       rows into an equivalent plain table (same columns, no partitions, no indexes); then the
//       sealer chaining them. Prints key=value figures.
//   bench_journal search --conninfo C --sql-dir D --events N [--lookups 1000]
//       N events over 12 monthly partitions (loaded set-based), then p50/p95/p99 of random
//       timeline lookups (entity + notice number) and IUV lookups through journal::find_events.
//       Every notice is an option of a position of one of four back-office applications, so
//       that it also times what a back-office key's scope costs (journal::scope::application):
//       its timeline lookups, and pages of 100 of an entity's events from a random time, read
//       as the entity's operator and as one of its back-offices (a quarter of the events).
#include <pagohub/config/journal_settings.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/db/migrations.hpp>
#include <pagohub/journal/chain.hpp>
#include <pagohub/journal/query.hpp>
#include <pagohub/journal/service.hpp>
#include <pagohub/journal/writer.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace pagohub;
using steady = std::chrono::steady_clock;

struct options {
  std::string mode;
  std::string conninfo;
  std::string sql_dir;
  long events = 1'000'000;
  int lookups = 1000;
};

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

constexpr int entities = 200;

std::string entity_of(long notice) {
  char text[16];
  std::snprintf(text, sizeof text, "%011ld", 10'000'000'000L + notice % entities);
  return text;
}

// Notice numbers as pagohub makes them: aux 3, segregation 01, a 13-digit progressive and
// the mod-93 check digits (DIGEST §5).
std::string notice_of(long notice) {
  char base[32];
  std::snprintf(base, sizeof base, "301%013ld", notice);
  const auto n = std::stoull(base);
  char text[64];
  std::snprintf(text, sizeof text, "%s%02llu", base, n % 93);
  return text;
}

// Event i of the bulk run: five events per notice (a verify, a get payment, a receipt, each
// req/rsp pair folded into one, and two state changes), as a day of a busy station.
journal::event bulk_event(long i, std::chrono::system_clock::time_point t0) {
  const long notice = i / 5;
  journal::event e;
  static constexpr const char* types[] = {"paVerifyPaymentNotice", "paGetPayment", "paSendRT",
                                          "positionStateChange", "positionStateChange"};
  const bool soap = i % 5 < 3;
  e.cat = soap ? journal::category::interfaccia : journal::category::interno;
  e.interface = soap ? journal::interface_kind::soap_pa : journal::interface_kind::internal;
  e.time = t0 + std::chrono::milliseconds(i);
  e.entity_fc = entity_of(notice);
  e.notice_number = notice_of(notice);
  e.type = types[i % 5];
  e.subtype = soap ? "rsp" : (i % 5 == 3 ? "VALID" : "PAID");
  e.component = soap ? "pap" : "positions";
  e.caller_id = soap ? "NodoDeiPagamentiSPC" : "positions";
  e.provider_id = "15376371009_01";
  e.station_id = "15376371009_01";
  e.psp_id = soap ? "ABI03069" : "";
  e.ccp = soap ? "token-" + std::to_string(notice) : "";
  e.request_id = "r" + std::to_string(i);
  e.outcome = "OK";
  e.by =
      soap ? journal::actor{"nodo", "NodoDeiPagamentiSPC"} : journal::actor{"system", "lifecycle"};
  if (soap) {
    e.duration_ms = 12;
    e.http_status = 200;
  }
  return e;
}

void migrate(const options& o) {
  pqxx::connection c(o.conninfo);
  db::migrate(c, db::load_migrations(o.sql_dir));
}

// The bulk rows (the values the writer stores) COPYed into `table`, in chunks of 10,000 rows.
void copy_plain(const options& o, const std::string& table,
                std::chrono::system_clock::time_point t0) {
  {
    pqxx::connection c(o.conninfo);
    const long chunk = 10'000;
    for (long from = 0; from < o.events; from += chunk) {
      pqxx::work w(c);
      pqxx::stream_to out(
          w, table,
          std::vector<std::string>{"id",         "event_time",    "entity_fc",   "iuv",
                                   "ccp",        "psp_id",        "component",   "category",
                                   "event_type", "event_subtype", "caller_id",   "provider_id",
                                   "station_id", "outcome",       "request_id",  "notice_number",
                                   "actor_kind", "actor_id",      "duration_ms", "http_status",
                                   "interface"});
      for (long i = from; i < std::min(o.events, from + chunk); ++i) {
        const auto e = bulk_event(i, t0);
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(e.time.time_since_epoch())
                .count();
        const std::string id = std::to_string(i + 1);
        const auto nav = e.notice_number;
        const std::string iuv = nav.substr(1);
        const std::string duration = e.duration_ms ? std::to_string(*e.duration_ms) : "";
        const std::string status = e.http_status ? std::to_string(*e.http_status) : "";
        const std::string cat(journal::to_string(e.cat));
        const std::string iface(journal::to_string(e.interface));
        const std::string ts = journal::format_time_us(us);
        out << std::array<const char*, 21>{id.c_str(),
                                           ts.c_str(),
                                           e.entity_fc.c_str(),
                                           iuv.c_str(),
                                           e.ccp.empty() ? nullptr : e.ccp.c_str(),
                                           e.psp_id.empty() ? nullptr : e.psp_id.c_str(),
                                           e.component.c_str(),
                                           cat.c_str(),
                                           e.type.c_str(),
                                           e.subtype.c_str(),
                                           e.caller_id.c_str(),
                                           e.provider_id.c_str(),
                                           e.station_id.c_str(),
                                           e.outcome.c_str(),
                                           e.request_id.c_str(),
                                           nav.c_str(),
                                           e.by.kind.c_str(),
                                           e.by.id.c_str(),
                                           duration.empty() ? nullptr : duration.c_str(),
                                           status.empty() ? nullptr : status.c_str(),
                                           iface.c_str()};
      }
      out.complete();
      w.commit();
    }
  }
}

int bulk(const options& o) {
  migrate(o);
  const auto t0 = std::chrono::system_clock::now();
  config::journal_settings s;
  s.queue_capacity = 200'000;
  s.batch_size = 10'000;
  s.flush_interval = std::chrono::milliseconds(50);
  // Payloads are left out on both sides: the comparison is about the event rows.
  s.payload_policies = {{"default", config::payload_policy::never}};
  db::executor db(db::pool_settings{o.conninfo, 4});
  {
    pqxx::connection c(o.conninfo);
    pqxx::work w(c);
    journal::ensure_partitions(w, 1, t0);
    // The plain table: the same columns, nothing else.
    w.exec0("CREATE TABLE journal_plain (LIKE journal_events INCLUDING DEFAULTS)");
    w.commit();
  }

  core::system_clock clock;
  const journal::payload_rules rules(s);
  journal::writer writer(db, s, rules, clock);
  writer.start();
  const auto started = steady::now();
  for (long i = 0; i < o.events; ++i) writer.enqueue_blocking(bulk_event(i, t0), true);
  writer.stop();
  const double journal_s = seconds_since(started);

  // The same rows, COPYed into the plain table, then into a plain table with the journal's
  // indexes: the second tells the cost of the indexes from that of partitions and the writer.
  const auto copy_started = steady::now();
  copy_plain(o, "journal_plain", t0);
  const double copy_s = seconds_since(copy_started);
  {
    pqxx::connection c(o.conninfo);
    pqxx::work w(c);
    w.exec0(
        "CREATE TABLE journal_plain_indexed (LIKE journal_events INCLUDING DEFAULTS);"
        "ALTER TABLE journal_plain_indexed ADD PRIMARY KEY (id, event_time);"
        "CREATE INDEX ON journal_plain_indexed (entity_fc, notice_number, event_time, id)"
        "  WHERE notice_number IS NOT NULL;"
        "CREATE INDEX ON journal_plain_indexed (iuv, event_time, id) WHERE iuv IS NOT NULL;"
        "CREATE INDEX ON journal_plain_indexed (request_id) WHERE request_id IS NOT NULL;"
        "CREATE INDEX ON journal_plain_indexed (entity_fc, event_time, id);"
        "CREATE INDEX ON journal_plain_indexed (event_time, id);"
        "CREATE INDEX ON journal_plain_indexed USING brin (txid)");
    w.commit();
  }
  const auto indexed_started = steady::now();
  copy_plain(o, "journal_plain_indexed", t0);
  const double indexed_s = seconds_since(indexed_started);

  // The sealer's cost, separately: it runs in the background in the daemon.
  const auto seal_started = steady::now();
  long sealed = 0;
  for (;;) {
    const auto r = db.transact_sync([](pqxx::work& w) { return journal::seal(w, 50'000); });
    sealed += r.sealed;
    if (!r.more) break;
  }
  const double seal_s = seconds_since(seal_started);
  long stored = 0;
  {
    pqxx::connection c(o.conninfo);
    pqxx::work w(c);
    stored = w.exec1("SELECT count(*) FROM journal_events")[0].as<long>();
  }
  std::printf(
      "events=%ld stored=%ld journal_s=%.2f journal_rate=%.0f copy_s=%.2f copy_rate=%.0f "
      "ratio=%.2f indexed_s=%.2f indexed_rate=%.0f indexed_ratio=%.2f seal_s=%.2f sealed=%ld\n",
      o.events, stored, journal_s, o.events / journal_s, copy_s, o.events / copy_s,
      journal_s / copy_s, indexed_s, o.events / indexed_s, journal_s / indexed_s, seal_s, sealed);
  return stored == o.events ? 0 : 1;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

int search(const options& o) {
  migrate(o);
  const auto now = std::chrono::system_clock::now();
  const long notices = std::max(1L, o.events / 5);
  const auto load_started = steady::now();
  {
    pqxx::connection c(o.conninfo);
    {
      pqxx::work w(c);
      journal::ensure_partitions(w, 12, now - std::chrono::hours(24 * 31 * 11));
      w.commit();
    }
    // Set-based, one month per statement: five events per notice, notices spread evenly over
    // the last twelve months, the same shapes as the bulk run.
    const long per_month = (notices + 11) / 12;
    for (int m = 0; m < 12; ++m) {
      const long first = m * per_month;
      const long last = std::min(notices, first + per_month) - 1;
      if (first > last) break;
      pqxx::work w(c);
      w.exec_params0(
          R"(INSERT INTO journal_events (event_time, entity_fc, iuv, ccp, psp_id, component, category,
               event_type, event_subtype, caller_id, provider_id, station_id, outcome, request_id,
               notice_number, actor_kind, actor_id, duration_ms, http_status, interface)
             SELECT date_trunc('month', now() - make_interval(months => 11 - $3::int))
                      + (n - $1) * (interval '27 days' / greatest($2::bigint - $1 + 1, 1))
                      + k * interval '1 minute',
                    lpad((10000000000 + n % 200)::text, 11, '0'),
                    b.iuv,
                    CASE WHEN k < 3 THEN 'token-' || n END,
                    CASE WHEN k < 3 THEN 'ABI03069' END,
                    CASE WHEN k < 3 THEN 'pap' ELSE 'positions' END,
                    CASE WHEN k < 3 THEN 'INTERFACCIA' ELSE 'INTERNO' END,
                    (ARRAY['paVerifyPaymentNotice', 'paGetPayment', 'paSendRT',
                           'positionStateChange', 'positionStateChange'])[k + 1],
                    (ARRAY['rsp', 'rsp', 'rsp', 'VALID', 'PAID'])[k + 1],
                    CASE WHEN k < 3 THEN 'NodoDeiPagamentiSPC' ELSE 'positions' END,
                    '15376371009_01', '15376371009_01', 'OK', 'r' || (n * 5 + k),
                    '3' || b.iuv,
                    CASE WHEN k < 3 THEN 'nodo' ELSE 'system' END,
                    CASE WHEN k < 3 THEN 'NodoDeiPagamentiSPC' ELSE 'lifecycle' END,
                    CASE WHEN k < 3 THEN 12 END, CASE WHEN k < 3 THEN 200 END,
                    CASE WHEN k < 3 THEN 'soap_pa' ELSE 'internal' END
               FROM generate_series($1::bigint, $2::bigint) n
              CROSS JOIN LATERAL (SELECT '01' || lpad(n::text, 13, '0')
                                         || lpad((('301' || lpad(n::text, 13, '0'))::numeric
                                                  % 93)::text, 2, '0') AS iuv) b
              CROSS JOIN generate_series(0, 4) k
              ORDER BY n, k)",
          first, last, m);
      w.commit();
      std::fprintf(stderr, "search: month %d of 12 loaded (%.0f s)\n", m + 1,
                   seconds_since(load_started));
    }
    // One position per notice with its single option. Notice n is entity n % 200's; its
    // positions belong to applications bo-0..bo-3 in turn (n / 200 % 4), a quarter each.
    {
      pqxx::work w(c);
      w.exec_params0(
          R"(INSERT INTO positions (entity_fiscal_code, application_id, external_id, status,
               debtor_type, debtor_fiscal_code, debtor_full_name, description, service_code,
               reference_year, due_date, created_at, updated_at)
             SELECT lpad((10000000000 + n % 200)::text, 11, '0'), 'bo-' || (n / 200 % 4),
                    'p-' || n,
                    'VALID', 'F', 'ANONIMO', 'Bench', 'Bench', 'TARI', 2026, '2030-12-31', now(),
                    now()
               FROM generate_series(0, $1::bigint - 1) n)",
          notices);
      w.exec0(
          R"(INSERT INTO payment_options (entity_fiscal_code, position_id, ordinal, kind,
               instalment, notice_number, iuv, amount, due_date, description)
             SELECT p.entity_fiscal_code, p.id, 0, 'SINGLE', 0, '3' || b.iuv, b.iuv, 100,
                    '2030-12-31', 'Bench'
               FROM positions p
              CROSS JOIN LATERAL (SELECT substr(p.external_id, 3)::bigint AS n) x
              CROSS JOIN LATERAL (SELECT '01' || lpad(x.n::text, 13, '0')
                                         || lpad((('301' || lpad(x.n::text, 13, '0'))::numeric
                                                  % 93)::text, 2, '0') AS iuv) b)");
      w.commit();
      std::fprintf(stderr, "search: %ld positions loaded (%.0f s)\n", notices,
                   seconds_since(load_started));
    }
    pqxx::nontransaction n(c);
    n.exec0("VACUUM ANALYZE journal_events");
    n.exec0("VACUUM ANALYZE positions");
    n.exec0("VACUUM ANALYZE payment_options");
  }
  const double load_s = seconds_since(load_started);

  pqxx::connection c(o.conninfo);
  std::mt19937_64 random(42);
  std::uniform_int_distribution<long> pick(0, notices - 1);
  std::vector<double> timeline_ms, iuv_ms, own_timeline_ms;
  long found = 0;
  // One query in a transaction of its own, its time added to `ms`.
  const auto timed = [&c](const journal::scope& s, const journal::page_request& r,
                          std::vector<double>& ms) {
    const auto t = steady::now();
    pqxx::work w(c);
    auto pg = journal::find_events(w, s, r);
    w.commit();
    ms.push_back(seconds_since(t) * 1000);
    return pg;
  };
  // Timelines as the entity's operator, then the same lookups with the notice's owner's
  // back-office key.
  for (const bool own : {false, true}) {
    for (int i = 0; i < o.lookups; ++i) {
      const long notice = pick(random);
      journal::page_request r;
      r.where.entity = entity_of(notice);
      r.where.notice_number = notice_of(notice);
      journal::scope s{{*r.where.entity}, false};
      if (own) s.application = "bo-" + std::to_string(notice / entities % 4);
      s.orphans = own;
      found += static_cast<long>(timed(s, r, own ? own_timeline_ms : timeline_ms).items.size());
    }
  }
  for (int i = 0; i < o.lookups; ++i) {
    journal::page_request r;
    r.where.iuv = notice_of(pick(random)).substr(1);
    found += static_cast<long>(timed(journal::scope{{}, true}, r, iuv_ms).items.size());
  }
  // A page of 100 of an entity's events from a random time in the year: as its operator, and as
  // one of its four back-offices, whose events are a quarter of the entity's.
  const auto year_ago = std::chrono::duration_cast<std::chrono::microseconds>(
                            (now - std::chrono::hours(24 * 31 * 11)).time_since_epoch())
                            .count();
  const auto span_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::hours(24 * 330)).count();
  std::uniform_int_distribution<long> when(0, span_us);
  std::vector<double> page_ms, own_page_ms;
  long own_items = 0;
  for (int i = 0; i < 2 * o.lookups; ++i) {
    const bool own = i % 2 == 1;
    const long notice = pick(random);
    journal::page_request r;
    r.where.entity = entity_of(notice);
    r.where.from_us = year_ago + when(random);
    r.limit = 100;
    journal::scope s{{*r.where.entity}, false};
    if (own) s.application = "bo-" + std::to_string(notice / entities % 4);
    s.orphans = own;  // the default: a back-office granted every service
    const auto pg = timed(s, r, own ? own_page_ms : page_ms);
    if (own) own_items += static_cast<long>(pg.items.size());
  }
  long stored = 0;
  int partitions = 0;
  {
    pqxx::work w(c);
    stored = w.exec1("SELECT count(*) FROM journal_events")[0].as<long>();
    partitions = w.exec1(
                      "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
                      "WHERE p.relname = 'journal_events' AND i.inhrelid IN (SELECT oid FROM "
                      "pg_class WHERE relname ~ '_[0-9]{6}$' AND reltuples > 0)")[0]
                     .as<int>();
  }
  std::printf(
      "events=%ld partitions_with_rows=%d load_s=%.1f lookups=%d found=%ld "
      "timeline_p50_ms=%.2f timeline_p95_ms=%.2f timeline_p99_ms=%.2f "
      "iuv_p50_ms=%.2f iuv_p95_ms=%.2f iuv_p99_ms=%.2f "
      "own_timeline_p50_ms=%.2f own_timeline_p95_ms=%.2f own_timeline_p99_ms=%.2f "
      "page_p50_ms=%.2f page_p95_ms=%.2f page_p99_ms=%.2f "
      "own_page_p50_ms=%.2f own_page_p95_ms=%.2f own_page_p99_ms=%.2f own_page_items=%.1f\n",
      stored, partitions, load_s, o.lookups, found, percentile(timeline_ms, 0.5),
      percentile(timeline_ms, 0.95), percentile(timeline_ms, 0.99), percentile(iuv_ms, 0.5),
      percentile(iuv_ms, 0.95), percentile(iuv_ms, 0.99), percentile(own_timeline_ms, 0.5),
      percentile(own_timeline_ms, 0.95), percentile(own_timeline_ms, 0.99),
      percentile(page_ms, 0.5), percentile(page_ms, 0.95), percentile(page_ms, 0.99),
      percentile(own_page_ms, 0.5), percentile(own_page_ms, 0.95), percentile(own_page_ms, 0.99),
      static_cast<double>(own_items) / std::max(1, o.lookups));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (argc >= 2) o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--conninfo") {
      o.conninfo = v;
    } else if (k == "--sql-dir") {
      o.sql_dir = v;
    } else if (k == "--events") {
      o.events = std::stol(v);
    } else if (k == "--lookups") {
      o.lookups = std::stoi(v);
    } else {
      std::fprintf(stderr, "bench_journal: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if ((o.mode != "bulk" && o.mode != "search") || o.conninfo.empty() || o.sql_dir.empty()) {
    std::fprintf(stderr,
                 "usage: bench_journal bulk|search --conninfo C --sql-dir D [--events N] "
                 "[--lookups 1000]\n");
    return 2;
  }
  try {
    return o.mode == "bulk" ? bulk(o) : search(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_journal: %s\n", e.what());
    return 1;
  }
}
