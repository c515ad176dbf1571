#include <pagohub/journal/chain.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "storage.hpp"

namespace pagohub::journal {
namespace {

struct head {
  std::int64_t seq = 0;
  digest hash{};
};

std::string month_literal(std::int64_t time_us) {
  // The first day of the event's month, UTC: "YYYY-MM-01".
  return detail::timestamptz_literal(time_us).substr(0, 8) + "01";
}

}  // namespace

seal_result seal(pqxx::transaction_base& w, std::int64_t max_events, std::int64_t first_span) {
  seal_result result;
  const auto state = w.exec1("SELECT sealed_txid, sealed_id FROM journal_seal_state FOR UPDATE");
  // The slices below are read through the BRIN index on txid whatever the planner estimates.
  // The newest transaction ids always lie past the statistics' histogram (and txid has no
  // B-tree for the planner to find its real end), so every slice is estimated at one row, and
  // on a partition of modest size the planner chose to scan all of it, once per slice: most of
  // PostgreSQL's time for the journal under steady load. And a slice is sorted whole before
  // its LIMIT: up to max_events rows of about 700 bytes, which the default work_mem (4 MB)
  // sorts on disk. One sealer runs at a time (its job's lease), so the memory is spent once.
  w.exec0("SET LOCAL enable_seqscan = off; SET LOCAL work_mem = '96MB'");
  const auto from_txid = state[0].as<std::int64_t>();
  const auto from_id = state[1].as<std::int64_t>();
  // Every transaction with an id below the horizon has ended, so the events they committed
  // are all visible to the next statement and no more can appear (see chain.hpp).
  const auto horizon =
      w.exec1("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")[0].as<std::int64_t>();

  // Rows are read in slices of the transaction-id range, each bounded by `span` ids, so that a
  // backlog (after an outage, a bulk load) costs each round what it chains, not a scan and sort
  // of the whole backlog. A slice is sorted whole before the LIMIT applies, so the first span is
  // small: bulk writers commit thousands of events per transaction, and 1024 such transactions
  // (ten million events) made one slice that no statement timeout lets sort. The span grows
  // while slices come back thin (ids consumed by other databases of the cluster, quiet
  // periods). Each slice reads every page of the BRIN ranges it matches, and those not
  // summarized yet (the pages added since journal_summarize_txid() last ran) match them all: so
  // the caller passes back the span the previous call ended with (next_span), sized from the
  // events per transaction it met, and a steady load is read in one slice, not five.
  struct sealed_row {
    stored_event event;
    std::int64_t txid;
  };
  std::vector<sealed_row> rows;
  std::int64_t lo_txid = from_txid;
  std::int64_t lo_id = from_id;
  constexpr std::int64_t min_span = 16;
  constexpr std::int64_t max_span = std::int64_t{1} << 20;
  std::int64_t span = std::clamp(first_span, min_span, max_span);
  std::int64_t spanned = 0;  // transaction ids covered by the slices read
  for (;;) {
    const std::int64_t hi = std::min(horizon, lo_txid + span);
    const std::int64_t want = max_events - static_cast<std::int64_t>(rows.size());
    const auto slice =
        w.exec_params("SELECT " + detail::event_select_list("e") +
                          ", e.txid FROM journal_events e"
                          " WHERE e.txid >= $1 AND e.txid < $3 AND (e.txid > $1 OR e.id > $2)"
                          " ORDER BY e.txid, e.id LIMIT $4",
                      lo_txid, lo_id, hi, want);
    for (const auto& r : slice) rows.push_back({detail::read_event(r), r[26].as<std::int64_t>()});
    if (static_cast<std::int64_t>(slice.size()) == want) {
      spanned += rows.back().txid - lo_txid + 1;
      lo_txid = rows.back().txid;
      lo_id = rows.back().event.id;
      result.more = true;
      break;
    }
    // Everything below `hi` is now read: the position moves past it.
    spanned += hi - lo_txid;
    lo_txid = hi;
    lo_id = 0;
    if (hi >= horizon) break;
    if (static_cast<std::int64_t>(slice.size()) < want / 4) span *= 4;
  }
  // The next first slice: about a quarter of max_events at this call's events per transaction
  // id, so that the next run's first slice is neither thin (several reads) nor fat (a big sort);
  // at most 4096 ids, which a few seconds of steady load fill, while a backlog of bulk loads
  // after an outage still starts small enough to sort.
  constexpr std::int64_t max_first_span = 4096;
  if (rows.empty()) {
    result.next_span = std::min(span, max_first_span);
  } else {
    const double per_id =
        static_cast<double>(rows.size()) / static_cast<double>(std::max<std::int64_t>(spanned, 1));
    result.next_span =
        std::clamp(static_cast<std::int64_t>(static_cast<double>(max_events) / 4.0 / per_id),
                   min_span, max_first_span);
  }
  if (rows.empty()) {
    if (lo_txid != from_txid || lo_id != from_id)
      w.exec_params0(
          "UPDATE journal_seal_state SET sealed_txid = $1, sealed_id = $2, updated_at = now()",
          lo_txid, lo_id);
    return result;
  }

  std::map<std::string, head> heads;  // month -> where its chain ends
  const auto head_of = [&](const std::string& month) -> head& {
    auto [it, fresh] = heads.try_emplace(month);
    if (fresh) {
      const auto r = w.exec_params(
          "SELECT last_seq, encode(last_hash, 'hex') FROM journal_chain_heads WHERE month = $1 "
          "FOR UPDATE",
          month);
      if (!r.empty()) {
        it->second.seq = r[0][0].as<std::int64_t>();
        it->second.hash = *detail::digest_from_hex(r[0][1].as<std::string>());
      } else {
        it->second.hash = genesis_link(std::stoi(month.substr(0, 4)),
                                       static_cast<unsigned>(std::stoi(month.substr(5, 2))));
      }
    }
    return it->second;
  };

  // The links go in one INSERT of five arrays. Every value is digits, dashes, colons, a dot, T
  // and Z, or hex, so the array literals need no quoting; libpqxx 6.4's COPY stream escaped
  // each field through a string of its own, a fifth of the sealer's CPU.
  std::string months = "{", seqs = "{", ids = "{", times = "{", hashes = "{";
  for (const auto& row : rows) {
    const stored_event& e = row.event;
    std::string month = month_literal(e.time_us);
    head& h = head_of(month);
    h.hash = chain_link(h.hash, canonical_content(e));
    ++h.seq;
    if (months.size() > 1) {
      months += ',';
      seqs += ',';
      ids += ',';
      times += ',';
      hashes += ',';
    }
    months += month;
    seqs += std::to_string(h.seq);
    ids += std::to_string(e.id);
    times += detail::timestamptz_literal(e.time_us);
    hashes += to_hex(h.hash);
    (e.category == "INTERFACCIA" ? result.interfaccia : result.interno) += 1;
    ++result.sealed;
  }
  for (auto* list : {&months, &seqs, &ids, &times, &hashes}) *list += '}';
  w.exec_params0(
      "INSERT INTO journal_chain (month, seq, event_id, event_time, hash) "
      "SELECT m::date, s, e, t::timestamptz, decode(h, 'hex') "
      "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS u(m, s, e, "
      "t, h)",
      months, seqs, ids, times, hashes);
  for (const auto& [month, h] : heads) {
    w.exec_params0(
        "INSERT INTO journal_chain_heads (month, last_seq, last_hash) "
        "VALUES ($1, $2, decode($3, 'hex')) "
        "ON CONFLICT (month) DO UPDATE SET last_seq = EXCLUDED.last_seq, "
        "  last_hash = EXCLUDED.last_hash, updated_at = now()",
        month, h.seq, to_hex(h.hash));
  }
  w.exec_params0(
      "UPDATE journal_seal_state SET sealed_txid = $1, sealed_id = $2, updated_at = now()", lo_txid,
      lo_id);
  return result;
}

}  // namespace pagohub::journal
