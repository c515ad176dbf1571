#include <pagohub/journal/chain.hpp>

#include <pqxx/pqxx>

#include <cstdio>

#include "storage.hpp"

namespace pagohub::journal {
namespace {

std::string month_text(year_month m) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u", m.year, m.month);
  return text;
}

year_month next(year_month m) {
  return m.month == 12 ? year_month{m.year + 1, 1} : year_month{m.year, m.month + 1};
}

constexpr int chunk_rows = 5000;

// Checks one month inside the caller's read-only snapshot.
month_report verify_month(pqxx::transaction_base& w, year_month m) {
  month_report rep;
  rep.month = m;
  const std::string first = month_text(m) + "-01";
  const std::string after = month_text(next(m)) + "-01";
  const auto fail = [&rep](std::string why) {
    rep.ok = false;
    rep.problem = std::move(why);
    return rep;
  };
  // Payload partitions dropped by retention leave events whose payloads are gone by design.
  const bool payloads_kept =
      !w.exec_params1("SELECT to_regclass('journal_payloads_' || $1) IS NULL",
                      month_text(m).substr(0, 4) + month_text(m).substr(5, 2))[0]
           .as<bool>();

  digest link = genesis_link(m.year, m.month);
  std::int64_t seq = 0;
  for (;;) {
    const auto rows = w.exec_params(
        "SELECT c.seq, c.event_id, encode(c.hash, 'hex'), e.id IS NOT NULL, p.event_id IS NOT NULL,"
        "       p.content_type, p.original_bytes, p.headers, p.body, " +
            detail::event_select_list("e") +
            "  FROM journal_chain c"
            "  LEFT JOIN journal_events e ON e.id = c.event_id AND e.event_time = c.event_time"
            "  LEFT JOIN journal_payloads p ON p.event_id = c.event_id"
            "       AND p.event_time = c.event_time"
            " WHERE c.month = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3",
        first, seq, chunk_rows);
    for (const auto& r : rows) {
      const auto at_seq = r[0].as<std::int64_t>();
      const auto event_id = r[1].as<std::int64_t>();
      const std::string where =
          "link " + std::to_string(at_seq) + " (event " + std::to_string(event_id) + ")";
      if (at_seq != seq + 1)
        return fail("link " + std::to_string(seq + 1) + " is missing from the chain");
      if (!r[3].as<bool>()) return fail(where + ": the event is gone from journal_events");
      const stored_event e = detail::read_event(r, 9);
      link = chain_link(link, canonical_content(e));
      if (detail::to_hex_string(link) != r[2].as<std::string>())
        return fail(where + " at " + format_time_us(e.time_us, 3) +
                    ": the event differs from what was sealed (hash mismatch)");
      if (e.payload_sha256 && r[4].as<bool>()) {
        stored_payload p;
        p.content_type = r[5].as<std::string>();
        p.original_bytes = r[6].as<std::int64_t>();
        p.headers = r[7].as<std::string>();
        const pqxx::binarystring body(r[8]);
        p.body.assign(reinterpret_cast<const char*>(body.data()), body.size());
        if (payload_digest(p) != *e.payload_sha256)
          return fail(where + ": its payload differs from the one recorded (digest mismatch)");
        ++rep.payloads_checked;
      } else if (e.payload_sha256 && payloads_kept) {
        return fail(where + ": its payload is gone from journal_payloads");
      }
      seq = at_seq;
      ++rep.chained;
    }
    if (rows.size() < static_cast<std::size_t>(chunk_rows)) break;
  }

  const auto head = w.exec_params(
      "SELECT last_seq, encode(last_hash, 'hex') FROM journal_chain_heads WHERE month = $1", first);
  if (head.empty()) {
    if (seq != 0) return fail("the chain has " + std::to_string(seq) + " links but no head");
  } else {
    const auto head_seq = head[0][0].as<std::int64_t>();
    if (head_seq != seq)
      return fail("the chain ends at link " + std::to_string(seq) + " but its head says " +
                  std::to_string(head_seq) + ": links were removed");
    if (head[0][1].as<std::string>() != detail::to_hex_string(link))
      return fail("the last link does not match the chain head");
  }

  // An event is chained once (the sealer's watermark sees to it; no index holds it, sql/0026).
  const auto twice = w.exec_params(
      "SELECT event_id, min(seq), max(seq) FROM journal_chain WHERE month = $1 "
      "GROUP BY event_id HAVING count(*) > 1 ORDER BY 2 LIMIT 1",
      first);
  if (!twice.empty())
    return fail("event " + twice[0][0].as<std::string>() + " is chained twice (links " +
                twice[0][1].as<std::string>() + " and " + twice[0][2].as<std::string>() + ")");

  // Events the sealer has passed must all be in the chain; newer ones are waiting for it.
  const auto counts = w.exec_params1(
      "SELECT count(*) FILTER (WHERE (e.txid, e.id) <= (s.sealed_txid, s.sealed_id)),"
      "       count(*) FILTER (WHERE (e.txid, e.id) > (s.sealed_txid, s.sealed_id))"
      "  FROM journal_events e CROSS JOIN journal_seal_state s"
      " WHERE e.event_time >= $1::timestamptz AND e.event_time < $2::timestamptz"
      "   AND NOT EXISTS (SELECT 1 FROM journal_chain c WHERE c.month = $3::date"
      "                      AND c.event_id = e.id)",
      first + " 00:00:00+00", after + " 00:00:00+00", first);
  rep.unsealed = counts[1].as<std::int64_t>();
  if (const auto outside = counts[0].as<std::int64_t>(); outside > 0)
    return fail(std::to_string(outside) +
                " events are outside the chain although the sealer has passed them: they were "
                "inserted behind its back");
  return rep;
}

}  // namespace

std::optional<year_month> parse_year_month(std::string_view text) {
  if (text.size() != 7 || text[4] != '-') return std::nullopt;
  int year = 0;
  unsigned month = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    if (i == 4) continue;
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  year = std::stoi(std::string(text.substr(0, 4)));
  month = static_cast<unsigned>(std::stoi(std::string(text.substr(5, 2))));
  if (year < 1970 || month < 1 || month > 12) return std::nullopt;
  return year_month{year, month};
}

std::vector<month_report> verify(pqxx::connection_base& c, year_month from, year_month to,
                                 std::ostream& out) {
  std::vector<month_report> reports;
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> w(c);
  for (auto m = from; m <= to; m = next(m)) {
    auto rep = verify_month(w, m);
    out << month_text(m) << ": ";
    if (rep.ok) {
      out << "OK, " << rep.chained << " events chained";
      if (rep.payloads_checked > 0) out << ", " << rep.payloads_checked << " payloads checked";
      if (rep.unsealed > 0) out << ", " << rep.unsealed << " not chained yet";
    } else {
      out << "BROKEN: " << rep.problem;
    }
    out << "\n";
    out.flush();
    reports.push_back(std::move(rep));
  }
  return reports;
}

int run_command(const std::string& conninfo, const std::vector<std::string>& args,
                std::ostream& out, std::ostream& err) {
  constexpr const char* usage =
      "usage: pagohubd journal verify --from YYYY-MM [--to YYYY-MM] [--config FILE]\n"
      "  recomputes the journal's hash chains of the months given (UTC months, inclusive)\n"
      "  and reports the first broken link of each; exit 0 all OK, 1 broken, 2 bad usage\n";
  if (args.empty() || args[0] == "help" || args[0] == "--help") {
    (args.empty() ? err : out) << usage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "verify") {
    err << "pagohubd journal: unknown subcommand '" << args[0] << "'\n" << usage;
    return 2;
  }
  std::optional<year_month> from, to;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& a = args[i];
    auto* target = a == "--from" ? &from : a == "--to" ? &to : nullptr;
    if (target == nullptr || i + 1 >= args.size()) {
      err << "pagohubd journal verify: unexpected argument '" << a << "'\n" << usage;
      return 2;
    }
    *target = parse_year_month(args[++i]);
    if (!*target) {
      err << "pagohubd journal verify: " << a << " wants a month as YYYY-MM, not '" << args[i]
          << "'\n";
      return 2;
    }
  }
  if (!from) {
    err << "pagohubd journal verify: --from is required\n" << usage;
    return 2;
  }
  if (!to) to = from;
  if (*to < *from) {
    err << "pagohubd journal verify: --to is before --from\n";
    return 2;
  }
  pqxx::connection c(conninfo);
  const auto reports = verify(c, *from, *to, out);
  bool ok = true;
  for (const auto& r : reports) ok = ok && r.ok;
  out << (ok ? "journal verify: OK\n" : "journal verify: BROKEN (see above)\n");
  return ok ? 0 : 1;
}

}  // namespace pagohub::journal
