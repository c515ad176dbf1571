#pragma once
// The receipts store (sql/0010_receipts.sql): every receipt pagoPA delivers, raw and
// interpreted. Functions work inside the caller's transaction and filter on the entity.
//
// DIGEST §1.3: a receipt proves a payment and is never refused for business reasons. It is
// inserted as received first; interpreting it and applying it to the position happen after,
// in a savepoint of the same transaction, so a receipt that cannot be applied is still stored
// (flagged as an anomaly) and the Nodo is answered OK only once the row is committed.
#include <pagohub/core/amount.hpp>
#include <pagohub/core/error.hpp>
#include <pagohub/positions/model.hpp>

#include <pqxx/transaction>
#include <pqxx/transaction_base>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::journal {
class payload_rules;
}  // namespace pagohub::journal

namespace pagohub::pap {

/// The primitive that delivered a receipt.
enum class receipt_source { pa_send_rt, pa_send_rt_v2, paa_invia_rt };

/// "paSendRT", "paSendRTV2", "paaInviaRT".
std::string_view to_string(receipt_source s) noexcept;
/// The source a stored receipt names (receipts.source); paSendRT for any other text.
receipt_source parse_receipt_source(std::string_view text) noexcept;

/// Why an operator should look at a stored receipt.
enum class anomaly {
  stand_in,              ///< paid while the station was bypassed (DIGEST §1.7); applied
  unknown_position,      ///< no position for the notice; not applied
  already_paid,          ///< the option was paid by another receipt; not applied
  position_cancelled,    ///< applied to a cancelled position
  position_expired,      ///< applied to an expired position
  position_not_payable,  ///< applied to a position not yet payable (draft, published)
  amount_mismatch,       ///< applied; the amount differs from the option's
  transfers_mismatch,    ///< applied; the transfers differ from the option's
  outcome_ko,            ///< a negative receipt (or RT): stored, not applied
  unreadable,            ///< stored, but could not be interpreted
  position_busy,         ///< its position stayed locked: stored, applied later by a job
};

/// "STAND_IN", "UNKNOWN_POSITION", ... (the column's values).
std::string_view to_string(anomaly a) noexcept;
std::optional<anomaly> parse_anomaly(std::string_view text) noexcept;

/// Text as PostgreSQL stores it. A receipt's bytes are not always UTF-8: the guard lets through
/// documents declared in Latin-1 and its kin (nodo/xml_guard.cpp), and nothing checks the bytes
/// of one that claims UTF-8. One bad byte fails the INSERT, on every redelivery alike, and the
/// receipt would be lost (DIGEST §1.3). Such bytes become '?'; the journal's INTERFACCIA payload
/// keeps the message's bytes as they came (docs/pagopa.md). The receipt row and the
/// back-office's message carry the same text.
std::string storable(const std::string& s);
std::optional<std::string> storable(const std::optional<std::string>& s);

/// The key a paSendRT receipt is stored and deduplicated under (receipts.receipt_id, and the
/// paid option's receipt_id, at most 35 characters): its receiptId when that has 1 to 35
/// characters of well-formed UTF-8, as every receipt pagoPA sends (a payment token); otherwise
/// "sha256:" and the first 28 hex digits of the SHA-256 of the receiptId, or of the whole
/// message `raw` for an empty one. The contract types receiptId as any xsd:string, and a receipt is
/// never refused (DIGEST §1.3): one whose identifier the tables could not hold failed to store, and
/// the Nodo, answered PAA_SYSTEM_ERROR, sent it again and again. A re-delivery finds the same key.
std::string receipt_key(std::string_view receipt_id, std::string_view raw);

/// The key a paaInviaRT receipt is stored and deduplicated under: "<IUV>-<CCP>" when the IUV
/// is letters and digits (every IUV pagoPA assigns: numeric or an RF creditor reference) and the
/// whole fits receipts.receipt_id (64 characters); otherwise "sha256:" and the first 28 hex
/// digits of the SHA-256 of IUV, a line feed and CCP. The RT's own identificativoMessaggioRicevuta
/// is not used: the PSP chooses it, unique among that PSP's RTs only, so two PSPs' RTs for
/// different payments of one entity could share it, and the second would have been answered
/// PAA_RT_DUPLICATA and lost. (IUV, CCP) names one payment attempt of the entity (DIGEST §2.1),
/// and a back-office deduplicating on this key dedupes exactly the repeats of one RT.
std::string rt_receipt_key(std::string_view iuv, std::string_view ccp);

/// A receipt as it is inserted.
struct receipt_record {
  std::string entity_fc;
  std::string receipt_id;
  receipt_source source = receipt_source::pa_send_rt;
  positions::timestamp received_at{};
  std::string request_id;
  std::string raw_message;  ///< the SOAP request as received
  std::optional<std::string> notice_number, iuv, ccp, primary_fiscal_code, outcome;
  std::optional<core::amount_cents> amount, fee;
  std::optional<positions::timestamp> payment_date_time;
  std::optional<positions::date> application_date, transfer_date;
  std::optional<std::string> psp_id, psp_name, psp_fiscal_code, channel_id, payment_method;
  bool stand_in = false;
  std::string details_json = "{}";  ///< debtor, payer, transfers, metadata (JSON object)
};

/// How a receipt was interpreted, stored with it.
struct receipt_verdict {
  std::optional<std::int64_t> position_id;  ///< the position of its notice, when found
  bool applied = false;                     ///< it paid its option
  std::optional<anomaly> flagged;
  std::string detail;  ///< why it was flagged (cut to 1000 characters)
};

/// Inserts `r` with `verdict` and returns its row id; nullopt when the entity already has a
/// receipt with this receipt id (or, for an RT, with this IUV and CCP): a re-delivery, which
/// changes nothing.
std::optional<std::int64_t> insert_receipt(pqxx::transaction_base& w, const receipt_record& r,
                                           const receipt_verdict& verdict = {});

/// For a re-delivery (insert_receipt found the key): what the receipt already stored under that
/// key says otherwise, as "field stored -> received" items joined by "; "; empty when the two
/// agree on the notice, the amount, the outcome, the PSP and the payment time.
std::string receipt_differences(pqxx::transaction_base& w, const receipt_record& r);

/// A stored receipt as the REST API and the operators see it.
struct stored_receipt {
  std::int64_t id = 0;
  std::string entity_fc;
  std::string receipt_id;
  receipt_source source = receipt_source::pa_send_rt;
  positions::timestamp received_at{};
  std::optional<std::string> notice_number, iuv, ccp, outcome;
  std::optional<core::amount_cents> amount, fee;
  std::optional<positions::timestamp> payment_date_time;
  std::optional<positions::date> application_date, transfer_date;
  std::optional<std::string> psp_id, psp_name, psp_fiscal_code, channel_id, payment_method;
  bool stand_in = false;
  std::string details_json;
  std::optional<std::int64_t> position_id;
  bool applied = false;
  std::optional<anomaly> flagged;
  std::optional<std::string> anomaly_detail;
  /// The accounting entries of the option the receipt paid, as a JSON object from transfer
  /// index to its entries; empty when the receipt paid no stored option.
  std::string accounting_json;
};

/// The receipt with this id, if the entity has one.
std::optional<stored_receipt> find_receipt(pqxx::transaction_base& w, std::string_view entity_fc,
                                           std::string_view receipt_id);

/// One page of a position's receipts, oldest first.
struct receipt_page {
  std::vector<stored_receipt> items;
  std::optional<std::string> next_cursor;  ///< absent on the last page
};

/// The receipts matched to position `position_id` of the entity, oldest first, `limit` (1..500)
/// per page; `cursor` is the next_cursor of the previous page. errc::invalid_input for a
/// malformed cursor (path "/query/cursor") or limit ("/query/limit").
core::result<receipt_page> list_receipts(pqxx::transaction_base& w, std::string_view entity_fc,
                                         std::int64_t position_id,
                                         const std::optional<std::string>& cursor, int limit = 50);

/// The page as the REST API answers it (docs/api/backoffice.yaml, ReceiptPage): amounts in
/// cents, instants in RFC 3339 UTC, PSP, payer and transfers from the receipt.
std::string to_json(const receipt_page& page);

/// One receipt as the REST API answers it (docs/api/backoffice.yaml, Receipt): the items of
/// to_json(receipt_page), also served alone and by the receipts pull feed.
std::string to_json(const stored_receipt& r);

/// The entity's receipts with these row ids (stored_receipt::id), in id order, in one query;
/// ids the entity does not have are left out.
std::vector<stored_receipt> find_receipts_by_row_ids(pqxx::transaction_base& w,
                                                     std::string_view entity_fc,
                                                     const std::vector<std::int64_t>& ids);

/// The receipts of the entity flagged as anomalies, newest first (for operators).
std::vector<stored_receipt> list_anomalies(pqxx::transaction_base& w, std::string_view entity_fc,
                                           int limit = 100);

/// What apply_held_receipts did.
struct held_receipts {
  int applied = 0;     ///< applied to their positions
  int stored = 0;      ///< judged and left unapplied (an anomaly, or another entity's notice)
  int still_held = 0;  ///< their positions are still locked
};

/// The receipts stored held (POSITION_BUSY: their position stayed locked while they were
/// delivered) applied now, up to `max_rows` in one transaction: each is judged and applied as
/// store_and_apply() would, its row updated with the verdict, and its journal event and outbox
/// message written (the back-office hears of it only now). A position still locked leaves its
/// receipt held for the next run.
held_receipts apply_held_receipts(pqxx::work& w, const journal::payload_rules& rules,
                                  positions::timestamp now, int max_rows);

}  // namespace pagohub::pap
