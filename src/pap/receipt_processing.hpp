#pragma once
// What a receipt does to the books: judged against the position it pays (pure, unit-tested),
// then stored and applied in one transaction with its INTERNO journal event and its outbox row
// (ARCHITECTURE §5). DIGEST §1.3: never refused for business reasons; what does not fit is
// stored and flagged for the operators.
#include <pagohub/journal/record.hpp>
#include <pagohub/pap/receipts.hpp>
#include <pagohub/positions/model.hpp>

#include <pqxx/except>
#include <pqxx/transaction>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagohub::pap {

/// The facts of a receipt that matter for applying it, from paSendRT(V2) or an RT.
struct receipt_facts {
  std::string entity_fc;   ///< the entity it was delivered for
  std::string primary_fc;  ///< the entity the notice belongs to (receipt fiscalCode)
  std::string notice_number;
  std::string receipt_id;  ///< recorded on the option (payment token, or the RT's CCP)
  bool outcome_ok = true;
  bool stand_in = false;
  core::amount_cents amount = 0;
  struct transfer {
    int index = 0;
    core::amount_cents amount = 0;
    std::string beneficiary;
  };
  std::vector<transfer> transfers;
  positions::timestamp paid_at{};
};

/// The verdict on a receipt.
struct judgement {
  bool apply = false;              ///< mark the option paid
  std::optional<anomaly> flagged;  ///< the most important reason to look at it
  std::string detail;              ///< every reason found, for people
};

/// Judges a receipt against the position found for its notice (none: UNKNOWN_POSITION). A
/// receipt for another entity's notice (this entity only a secondary beneficiary) is stored and
/// not applied, without an anomaly; so is a KO receipt, flagged OUTCOME_KO. A receipt that
/// would pay twice (its option paid by another receipt, its position already PAID, or the
/// single option of a plan with instalments paid) is not applied, flagged ALREADY_PAID.
/// Otherwise it is applied, flagged when the position was not payable, the amount or transfers
/// differ, or it was paid in stand-in.
judgement judge_receipt(const receipt_facts& facts,
                        const std::optional<positions::position>& found);

/// True for a failure of the database rather than of the receipt (connection, resources,
/// statement timeout, shutdown, serialization): the request fails, nothing is stored and the
/// Nodo delivers the receipt again, instead of it being kept as UNREADABLE for ever. (A lock
/// wait on the receipt's position that runs out is not this: the receipt is stored held.)
bool database_trouble(const pqxx::sql_error& e);

/// What store_and_apply did.
struct receipt_outcome {
  bool duplicate = false;  ///< the receipt was already stored: nothing changed
  /// For a duplicate: how it differs from the receipt stored under its key (empty: it agrees).
  std::string conflict;
  std::int64_t row_id = 0;
  bool applied = false;
  std::optional<anomaly> flagged;
  std::string detail;
  std::optional<std::string> position_external_id;
};

/// Inside transaction `w`: in a savepoint locks and finds the position, judges, marks the option
/// paid; then stores the raw receipt with that verdict (a re-delivery rolls back to the
/// savepoint and stops there), an INTERNO journal event and an outbox message. A failure while
/// interpreting rolls back to the savepoint and stores the receipt as UNREADABLE; a position
/// locked for more than a few seconds, as POSITION_BUSY, without an outbox message, for
/// apply_held_receipts(). Retryable database errors propagate (the executor repeats the whole
/// transaction).
receipt_outcome store_and_apply(pqxx::work& w, const receipt_record& record,
                                const receipt_facts& facts, const journal::payload_rules& rules,
                                positions::timestamp now);

/// Ends the 2018-model activation (IUV, CCP) of `entity_fc`: its RT is applied, so its payment
/// is no longer in progress. paaInviaRT does it with the RT, the held-receipts job once a held
/// RT is applied.
void close_rpt_activation(pqxx::work& w, const std::string& entity_fc, const std::string& iuv,
                          const std::string& ccp);

}  // namespace pagohub::pap
