#include "receipt_processing.hpp"

#include "notice_lookup.hpp"

#include <pagohub/core/text.hpp>
#include <pagohub/db/prepared.hpp>
#include <pagohub/positions/store.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>

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

receipt_outcome store_and_apply(pqxx::work& w, const receipt_record& record,
                                const receipt_facts& facts, const journal::payload_rules& rules,
                                positions::timestamp now) {
  receipt_outcome out;
  // The receipt is applied first and then stored, with its verdict, in one INSERT: inserting it
  // before and recording the verdict after wrote the row twice, and the second write (a new
  // position_id) added an entry to every index of receipts. It is still stored whatever
  // applying does (ARCHITECTURE §5): applying is fenced by a savepoint, and a failure there
  // rolls back to it and stores the receipt flagged UNREADABLE. A re-delivery is found by the
  // INSERT (its key exists) and rolls back to the savepoint too, so it changes nothing, even
  // when applying it did something this time (the first delivery found no position; one has
  // been loaded since).
  //
  // The savepoint is set by hand: libpqxx 6.4 sends a subtransaction's SAVEPOINT only on its
  // first exec(), not on exec_params/exec_prepared, so a pqxx::subtransaction here would not
  // fence anything. Released with the transaction.
  w.exec0("SAVEPOINT apply_receipt");
  receipt_verdict verdict;
  std::optional<std::string> application_id;
  judgement j;
  try {
    // Only the entity's own notices are looked up (every query is scoped to the entity).
    const auto found = facts.notice_number.empty() || facts.primary_fc != facts.entity_fc
                           ? std::nullopt
                           : find_locked_notice(w, facts.entity_fc, facts.notice_number);
    if (found) {
      verdict.position_id = found->id;
      if (!found->application_id.empty()) application_id = found->application_id;
      out.position_external_id = found->external_id;
    }
    j = judge_receipt(facts, found);
    if (j.apply) {
      auto paid = positions::pay_option(w, facts.entity_fc, facts.notice_number, facts.receipt_id,
                                        facts.paid_at, now, positions::receipt_actor(), found->id);
      if (!paid) {
        j.apply = false;
        j.flagged = paid.error().code == core::errc::conflict    ? anomaly::already_paid
                    : paid.error().code == core::errc::not_found ? anomaly::unknown_position
                                                                 : anomaly::unreadable;
        j.detail = paid.error().message;
      }
    }
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::in_doubt_error&) {
    throw;
  } catch (const std::exception& e) {
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql && database_trouble(*sql))
      throw;
    // Back to the savepoint: what applying wrote goes, the receipt is stored below.
    w.exec0("ROLLBACK TO SAVEPOINT apply_receipt");
    j = judgement{false, anomaly::unreadable,
                  std::string("could not apply the receipt: ") + e.what()};
    verdict.position_id.reset();
    application_id.reset();
    out.position_external_id.reset();
  }
  verdict.applied = j.apply;
  verdict.flagged = j.flagged;
  verdict.detail = j.detail;
  const auto id = insert_receipt(w, record, verdict);
  if (!id) {
    w.exec0("ROLLBACK TO SAVEPOINT apply_receipt");
    receipt_outcome again;
    again.duplicate = true;
    return again;
  }
  out.row_id = *id;
  out.applied = j.apply;
  out.flagged = j.flagged;
  out.detail = j.detail;

  journal::event e;
  e.time = now;
  e.cat = journal::category::interno;
  e.entity_fc = record.entity_fc;
  e.iuv = record.iuv.value_or("");
  e.ccp = record.ccp.value_or(record.receipt_id);
  e.psp_id = record.psp_id.value_or("");
  e.component = "pap";
  e.type = j.apply ? "receiptApplied" : "receiptStored";
  e.subtype = j.flagged ? std::string(to_string(*j.flagged)) : std::string("OK");
  e.caller_id = "pap";
  e.provider_id = "pap";
  e.channel_id = record.channel_id.value_or("");
  e.outcome = j.flagged ? "ANOMALY" : "OK";
  e.request_id = record.request_id;
  e.notice_number = record.notice_number.value_or("");
  e.by = journal::actor{"nodo", "NodoDeiPagamentiSPC"};
  e.interface_params = core::utf8_cut(j.detail, 512);
  journal::record_internal(w, e, rules);

  // The back-office hears of every stored receipt, applied or not (the integration issue
  // delivers the outbox).
  nlohmann::json payload = {
      {"receiptId", record.receipt_id},
      {"source", to_string(record.source)},
      {"entityFiscalCode", record.entity_fc},
      {"applied", j.apply},
      {"anomaly", j.flagged ? nlohmann::json(to_string(*j.flagged)) : nlohmann::json(nullptr)},
  };
  if (record.notice_number) payload["noticeNumber"] = *record.notice_number;
  if (record.iuv) payload["iuv"] = *record.iuv;
  if (record.amount) payload["amount"] = *record.amount;
  if (out.position_external_id) payload["positionExternalId"] = *out.position_external_id;
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
      verdict.position_id, application_id);
  return out;
}

}  // namespace pagohub::pap
