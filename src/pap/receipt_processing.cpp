#include "receipt_processing.hpp"

#include "notice_lookup.hpp"

#include <pagohub/core/text.hpp>
#include <pagohub/db/prepared.hpp>
#include <pagohub/positions/store.hpp>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <set>

namespace pagohub::pap {

namespace {

using positions::position_status;

// When several reasons apply, the one an operator must act on first is recorded as the code;
// the detail lists them all.
int rank(anomaly a) {
  switch (a) {
    case anomaly::outcome_ko:
    case anomaly::unknown_position:
    case anomaly::already_paid:
    case anomaly::unreadable:
    case anomaly::position_busy:
      return 0;
    case anomaly::position_cancelled:
    case anomaly::position_expired:
    case anomaly::position_not_payable:
      return 1;
    case anomaly::amount_mismatch:
      return 2;
    case anomaly::transfers_mismatch:
      return 3;
    case anomaly::stand_in:
      return 4;
  }
  return 5;
}

void flag(judgement& j, anomaly a, const std::string& why) {
  if (!j.flagged || rank(a) < rank(*j.flagged)) j.flagged = a;
  if (!j.detail.empty()) j.detail += "; ";
  j.detail += why;
}

std::string cents(core::amount_cents c) {
  return core::format_decimal_amount(c);
}

}  // namespace

bool database_trouble(const pqxx::sql_error& e) {
  // SQLSTATE classes (PostgreSQL, Appendix A): 08 connection, 40 transaction rollback
  // (serialization failure, deadlock: the executor retries), 53 insufficient resources,
  // 55 object not in prerequisite state (lock_not_available), 57 operator intervention
  // (statement timeout, shutdown), 58 system error, XX internal error.
  const std::string& state = e.sqlstate();
  if (state.size() != 5) return false;
  const std::string_view cls(state.data(), 2);
  for (const std::string_view c : {"08", "40", "53", "55", "57", "58", "XX"})
    if (cls == c) return true;
  return false;
}

judgement judge_receipt(const receipt_facts& facts,
                        const std::optional<positions::position>& found) {
  judgement j;
  if (!facts.outcome_ok) {
    flag(j, anomaly::outcome_ko, "the receipt reports a payment not made (outcome KO)");
    return j;
  }
  if (facts.primary_fc != facts.entity_fc) {
    // Multi-beneficiary (DIGEST §1.3): the notice is another entity's; this entity only gets a
    // share, so there is no position of its own to close.
    return j;
  }
  const positions::payment_option* option = nullptr;
  if (found) {
    for (const auto& o : found->options)
      if (o.notice_number == facts.notice_number) option = &o;
  }
  if (option == nullptr) {
    flag(j, anomaly::unknown_position, "no debt position for notice " + facts.notice_number);
    return j;
  }
  if (option->status != positions::option_status::unpaid &&
      option->receipt_id != facts.receipt_id) {
    flag(j, anomaly::already_paid,
         "notice " + facts.notice_number + " was already paid by receipt " +
             option->receipt_id.value_or("(unknown)"));
    return j;
  }
  // The option is unpaid, but its position may already be settled by its other options: every
  // instalment paid and now the single option (or the reverse), or some instalments paid and now
  // the single option. Verify offers neither (DUPLICATO), but the Nodo does not lock (DIGEST
  // §1.2) and a stand-in payment (§1.7) works from a copy: the citizen paid twice, which only
  // an operator can settle (a refund), so the receipt is kept apart, not applied.
  if (found->status == position_status::paid) {
    flag(j, anomaly::already_paid,
         "notice " + facts.notice_number + " is unpaid but its position was already paid " +
             "through its other payment options");
    return j;
  }
  if (found->status == position_status::partially_paid &&
      option->kind == positions::option_kind::single) {
    flag(j, anomaly::already_paid,
         "notice " + facts.notice_number + " is the single payment of a position whose " +
             "instalments are partly paid: paying it pays those instalments twice");
    return j;
  }
  j.apply = true;
  switch (found->status) {
    case position_status::cancelled:
      flag(j, anomaly::position_cancelled, "paid after the position was cancelled");
      break;
    case position_status::expired:
      flag(j, anomaly::position_expired, "paid after the position expired");
      break;
    case position_status::draft:
    case position_status::published:
      flag(j, anomaly::position_not_payable, "paid before the position was payable");
      break;
    default:
      break;
  }
  if (facts.amount != option->amount) {
    flag(j, anomaly::amount_mismatch,
         "paid " + cents(facts.amount) + ", the option asks " + cents(option->amount));
  }
  // Transfers must match one to one: same index, amount and beneficiary. An RT lists amounts
  // only (no beneficiaries): its facts carry no transfers, and only the total is compared.
  bool same = facts.transfers.empty() || facts.transfers.size() == option->transfers.size();
  for (std::size_t i = 0; same && i < facts.transfers.size(); ++i) {
    const auto& got = facts.transfers[i];
    const auto it = std::find_if(option->transfers.begin(), option->transfers.end(),
                                 [&](const auto& t) { return t.index == got.index; });
    same = it != option->transfers.end() && it->amount == got.amount &&
           it->beneficiary_fiscal_code == got.beneficiary;
  }
  if (!same) {
    flag(j, anomaly::transfers_mismatch,
         "the receipt's transfers differ from the option's (index, amount or beneficiary)");
  }
  if (facts.stand_in) flag(j, anomaly::stand_in, "paid in stand-in while the station was bypassed");
  return j;
}

namespace {

// The position of a notice, read after its lock is held. The judgement made from it (the
// position already paid through its other options, cancelled meanwhile...) must hold when
// pay_option() applies the payment: read before the lock, two receipts for the single option
// and for an instalment of one plan, arriving together, would both judge the position VALID and
// both be applied, and the second payment would not be flagged. A replacement may give the
// notice to another position while this waits: the new owner is then locked in turn, as
// pay_option() does.
std::optional<positions::position> find_locked_notice(pqxx::work& w, const std::string& entity_fc,
                                                      const std::string& notice_number) {
  constexpr int max_moves = 3;
  for (int attempt = 0; attempt <= max_moves; ++attempt) {
    const auto held = positions::lock_notice_owner(w, entity_fc, notice_number);
    if (!held) return std::nullopt;
    auto found = find_notice(w, entity_fc, notice_number);
    if (!found || found->id == *held) return found;
  }
  throw std::runtime_error("notice " + notice_number + " kept moving between positions");
}

}  // namespace

namespace {

// How long applying a receipt waits for its position's lock before the receipt is stored held
// (POSITION_BUSY) and answered. Far under the Nodo's 15 s for a receipt; far over any write of
// one position (milliseconds): only a long transaction, such as a bulk import replacing the
// position, holds it longer.
constexpr int position_lock_wait_s = 3;

// The savepoint and the lock wait in one round trip, composed once.
const std::string& open_savepoint() {
  static const std::string sql = "SAVEPOINT apply_receipt; SET LOCAL lock_timeout = '" +
                                 std::to_string(position_lock_wait_s) + "s'";
  return sql;
}

bool lock_not_available(const pqxx::sql_error& e) {
  return e.sqlstate() == "55P03";
}

// What applying a receipt did.
struct application {
  judgement j;
  std::optional<std::int64_t> position_id;
  std::optional<std::string> application_id;
  std::optional<std::string> external_id;
};

// In a savepoint (left set: the caller rolls back to it when the receipt turns out to be stored
// already): finds the position, judges, marks the option paid. A failure rolls back to the
// savepoint and flags the receipt UNREADABLE; a position locked for longer than
// position_lock_wait_s, POSITION_BUSY, to be applied later (apply_held_receipts). Database
// trouble propagates (the executor repeats the transaction, or the Nodo gets a fault and
// delivers again).
//
// The savepoint is set by hand: libpqxx 6.4 sends a subtransaction's SAVEPOINT only on its first
// exec(), not on exec_params/exec_prepared, so a pqxx::subtransaction here would not fence
// anything. Its lock_timeout stays for the rest of the transaction, whose other statements
// wait on nothing longer than another receipt's insert.
application apply_receipt(pqxx::work& w, const receipt_facts& facts, positions::timestamp now) {
  w.exec0(open_savepoint());
  application a;
  try {
    // Only the entity's own notices are looked up (every query is scoped to the entity).
    const auto found = facts.notice_number.empty() || facts.primary_fc != facts.entity_fc
                           ? std::nullopt
                           : find_locked_notice(w, facts.entity_fc, facts.notice_number);
    if (found) {
      a.position_id = found->id;
      if (!found->application_id.empty()) a.application_id = found->application_id;
      a.external_id = found->external_id;
    }
    a.j = judge_receipt(facts, found);
    if (a.j.apply) {
      auto paid = positions::pay_option(w, facts.entity_fc, facts.notice_number, facts.receipt_id,
                                        facts.paid_at, now, positions::receipt_actor(), found->id);
      if (!paid) {
        a.j.apply = false;
        a.j.flagged = paid.error().code == core::errc::conflict    ? anomaly::already_paid
                      : paid.error().code == core::errc::not_found ? anomaly::unknown_position
                                                                   : anomaly::unreadable;
        a.j.detail = paid.error().message;
      }
    }
    return a;
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::in_doubt_error&) {
    throw;
  } catch (const std::exception& e) {
    const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
    const bool busy = sql && lock_not_available(*sql);
    if (sql && !busy && database_trouble(*sql)) throw;
    // Back to the savepoint: what applying wrote goes, the receipt is stored all the same.
    w.exec0("ROLLBACK TO SAVEPOINT apply_receipt");
    application held;
    held.j = busy ? judgement{false, anomaly::position_busy,
                              std::string("the position of notice ") + facts.notice_number +
                                  " stayed locked for " + std::to_string(position_lock_wait_s) +
                                  " s (a bulk import?): the receipt is applied once it is free"}
                  : judgement{false, anomaly::unreadable,
                              std::string("could not apply the receipt: ") + e.what()};
    return held;
  }
}

// An INTERNO event about a receipt, with the SANP fields the receipt fills.
journal::event receipt_event(const receipt_record& record, positions::timestamp now,
                             std::string type, std::string subtype, std::string outcome,
                             const std::string& params) {
  journal::event e;
  e.time = now;
  e.cat = journal::category::interno;
  e.entity_fc = record.entity_fc;
  e.iuv = record.iuv.value_or("");
  e.ccp = record.ccp.value_or(record.receipt_id);
  e.psp_id = record.psp_id.value_or("");
  e.component = "pap";
  e.type = std::move(type);
  e.subtype = std::move(subtype);
  e.caller_id = "pap";
  e.provider_id = "pap";
  e.channel_id = record.channel_id.value_or("");
  e.outcome = std::move(outcome);
  e.request_id = record.request_id;
  e.notice_number = record.notice_number.value_or("");
  e.by = journal::actor{"nodo", "NodoDeiPagamentiSPC"};
  e.interface_params = core::utf8_cut(params, 512);
  return e;
}

// The receipt's INTERNO journal event and, unless it is held for later, its outbox message:
// the back-office hears of every stored receipt, applied or not, once.
void announce(pqxx::work& w, const receipt_record& record, const application& a,
              const journal::payload_rules& rules, positions::timestamp now) {
  const judgement& j = a.j;
  journal::record_internal(
      w,
      receipt_event(record, now, j.apply ? "receiptApplied" : "receiptStored",
                    j.flagged ? std::string(to_string(*j.flagged)) : std::string("OK"),
                    j.flagged ? "ANOMALY" : "OK", j.detail),
      rules);
  if (j.flagged == anomaly::position_busy) return;

  nlohmann::json payload = {
      {"receiptId", record.receipt_id},
      {"source", to_string(record.source)},
      {"entityFiscalCode", record.entity_fc},
      {"applied", j.apply},
      {"anomaly", j.flagged ? nlohmann::json(to_string(*j.flagged)) : nlohmann::json(nullptr)},
  };
  // As the receipt row stores them: bytes that are not UTF-8 (an IUV the schema leaves free
  // text) become '?', where nlohmann's dump() would throw and take the stored receipt down with
  // the transaction, on every redelivery.
  if (record.notice_number) payload["noticeNumber"] = storable(*record.notice_number);
  if (record.iuv) payload["iuv"] = storable(*record.iuv);
  if (record.amount) payload["amount"] = *record.amount;
  if (a.external_id) payload["positionExternalId"] = *a.external_id;
  // The position and its application travel with the message: outbox_fill_route() (sql/0023)
  // then only routes it, instead of looking both up again.
  static constexpr db::statement outbox{
      "pap.outbox_receipt",
      "INSERT INTO outbox (entity_fiscal_code, kind, key, payload, created_at, position_id, "
      "application_id) "
      "VALUES ($1, 'receipt', $2, $3::jsonb, 'epoch'::timestamptz + $4 * interval '1 microsecond', "
      "$5, $6) ON CONFLICT DO NOTHING"};
  db::exec_prepared(
      w, outbox, record.entity_fc, record.receipt_id, payload.dump(),
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count(),
      a.position_id, a.application_id);
}

// A re-delivery that differs from the receipt stored under its key: an INTERNO event for the
// operators, and a warning in the log.
void record_conflict(pqxx::work& w, const receipt_record& record, const std::string& conflict,
                     const journal::payload_rules& rules, positions::timestamp now) {
  spdlog::warn(
      "receipt {} of entity {} delivered again with other content ({}): the stored one "
      "stands; see the journal",
      record.receipt_id, record.entity_fc, conflict);
  journal::record_internal(
      w,
      receipt_event(record, now, "receiptConflict", std::string(to_string(record.source)),
                    "ANOMALY", "differs from the stored receipt: " + conflict),
      rules);
}

}  // namespace

receipt_outcome store_and_apply(pqxx::work& w, const receipt_record& record,
                                const receipt_facts& facts, const journal::payload_rules& rules,
                                positions::timestamp now) {
  // The receipt is applied first and then stored, with its verdict, in one INSERT: inserting it
  // before and recording the verdict after wrote the row twice, and the second write (a new
  // position_id) added an entry to every index of receipts. It is still stored whatever
  // applying does (ARCHITECTURE §5): applying is fenced by a savepoint. A re-delivery is found
  // by the INSERT (its key exists) and rolls back to the savepoint too, so it changes nothing,
  // even when applying it did something this time (the first delivery found no position; one
  // has been loaded since).
  const application a = apply_receipt(w, facts, now);
  const auto id = insert_receipt(w, record, {a.position_id, a.j.apply, a.j.flagged, a.j.detail});
  if (!id) {
    w.exec0("ROLLBACK TO SAVEPOINT apply_receipt");
    receipt_outcome again;
    again.duplicate = true;
    // The Nodo re-delivers a receipt as it was. One that says otherwise under the same key is
    // not applied either (the first one stands, DIGEST §1.3), but it must not pass unnoticed:
    // the operators get an event saying what differs, and the exchange keeps its message.
    again.conflict = receipt_differences(w, record);
    if (!again.conflict.empty()) record_conflict(w, record, again.conflict, rules, now);
    return again;
  }
  announce(w, record, a, rules, now);
  receipt_outcome out;
  out.row_id = *id;
  out.applied = a.j.apply;
  out.flagged = a.j.flagged;
  out.detail = a.j.detail;
  out.position_external_id = a.external_id;
  return out;
}

namespace {

// A held receipt as stored: what applying and announcing it need.
constexpr db::statement claim_held{"pap.claim_held_receipts", R"sql(
SELECT entity_fiscal_code, id, receipt_id, source, notice_number, iuv, ccp, primary_fiscal_code,
       outcome, amount, stand_in, details->'transfers',
       (extract(epoch FROM coalesce(payment_date_time, received_at)) * 1000000)::bigint,
       request_id, psp_id, channel_id,
       (SELECT o.position_id FROM payment_options o
         WHERE o.entity_fiscal_code = receipts.entity_fiscal_code
           AND o.notice_number = receipts.notice_number)
FROM receipts
WHERE anomaly = 'POSITION_BUSY'
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
)sql"};

// A new feed_xid: the pull feed left the receipt out while held, and its readers' cursors may be
// past its first place; it joins the feed now, after them (sql/0014_receipt_feed.sql).
constexpr db::statement settle_held{"pap.settle_held_receipt", R"sql(
UPDATE receipts SET position_id = $3, applied = $4, anomaly = $5, anomaly_detail = $6,
                    feed_xid = pg_current_xact_id()
WHERE entity_fiscal_code = $1 AND id = $2
)sql"};

}  // namespace

void close_rpt_activation(pqxx::work& w, const std::string& entity_fc, const std::string& iuv,
                          const std::string& ccp) {
  w.exec_params(
      "UPDATE rpt_activations SET state = 'RT_RECEIVED' "
      "WHERE entity_fiscal_code = $1 AND iuv = $2 AND ccp = $3",
      entity_fc, iuv, ccp);
}

held_receipts apply_held_receipts(pqxx::work& w, const journal::payload_rules& rules,
                                  positions::timestamp now, int max_rows) {
  constexpr int max_still_held = 3;
  held_receipts done;
  std::set<std::int64_t> busy;  // positions whose lock was not obtained in this run
  const pqxx::result rows = db::exec_prepared(w, claim_held, max_rows);
  for (const auto& row : rows) {
    receipt_record record;
    record.entity_fc = row[0].c_str();
    record.receipt_id = row[2].c_str();
    record.source = parse_receipt_source(row[3].c_str());
    record.notice_number = db::optional_text(row[4]);
    record.iuv = db::optional_text(row[5]);
    record.ccp = db::optional_text(row[6]);
    record.primary_fiscal_code = db::optional_text(row[7]);
    record.outcome = db::optional_text(row[8]);
    if (!row[9].is_null()) record.amount = row[9].as<std::int64_t>();
    record.stand_in = row[10].as<bool>();
    record.request_id = row[13].is_null() ? "" : row[13].c_str();
    record.psp_id = db::optional_text(row[14]);
    record.channel_id = db::optional_text(row[15]);

    // The facts as the delivery read them (current_model.cpp facts_of, old_model.cpp): an RT
    // pays its option under its CCP, and its outcome is already OK or KO here.
    receipt_facts facts;
    facts.entity_fc = record.entity_fc;
    facts.primary_fc = record.primary_fiscal_code.value_or(record.entity_fc);
    facts.notice_number = record.notice_number.value_or("");
    facts.receipt_id = record.source == receipt_source::paa_invia_rt
                           ? record.ccp.value_or(record.receipt_id)
                           : record.receipt_id;
    facts.outcome_ok = record.outcome.value_or("OK") == "OK";
    facts.stand_in = record.stand_in;
    facts.amount = record.amount.value_or(0);
    facts.paid_at = positions::timestamp{std::chrono::microseconds{row[12].as<std::int64_t>()}};
    const auto transfers =
        nlohmann::json::parse(row[11].is_null() ? "null" : row[11].c_str(), nullptr, false);
    // An RT's transfers are shown, not judged: its delivery (old_model.cpp) judges it without
    // them, and a held one must be judged the same.
    if (transfers.is_array() && record.source != receipt_source::paa_invia_rt) {
      for (const auto& t : transfers) {
        if (!t.is_object()) continue;  // never written so; one odd row must not stop the job
        facts.transfers.push_back({t.value("idTransfer", 0), t.value("amount", std::int64_t{0}),
                                   t.value("fiscalCodePA", std::string())});
      }
    }

    // Another receipt of a position found busy in this run would only wait for the same lock:
    // it is left for the next run, and the receipts of other positions behind it go on.
    // The notice's owner as the claim read it, without its lock.
    const auto owner =
        row[16].is_null() ? std::nullopt : std::optional<std::int64_t>(row[16].as<std::int64_t>());
    if (owner && busy.contains(*owner)) continue;
    const application a = apply_receipt(w, facts, now);
    if (a.j.flagged == anomaly::position_busy) {
      if (owner) busy.insert(*owner);
      // Each costs a lock wait; the rest are tried at the next run.
      if (++done.still_held == max_still_held) break;
      continue;
    }
    db::exec_prepared(
        w, settle_held, record.entity_fc, row[1].as<std::int64_t>(), a.position_id, a.j.apply,
        a.j.flagged ? std::optional<std::string>(to_string(*a.j.flagged)) : std::nullopt,
        a.j.flagged ? std::optional<std::string>(core::utf8_cut(a.j.detail, 1000)) : std::nullopt);
    announce(w, record, a, rules, now);
    // A held RT kept its 2018-model payment in progress (old_model.cpp): applied now, it ends
    // the activation as its delivery would have.
    if (record.source == receipt_source::paa_invia_rt && record.iuv && record.ccp)
      close_rpt_activation(w, record.entity_fc, *record.iuv, *record.ccp);
    if (a.j.apply)
      ++done.applied;
    else
      ++done.stored;
  }
  return done;
}

}  // namespace pagohub::pap
