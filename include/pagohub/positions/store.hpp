#pragma once
// The store of debt positions (sql/0002_positions.sql). Every function works inside the
// caller's transaction (`co_await db.transact([&](pqxx::work& w) { ... })`), so a state change,
// its position_events row and whatever else the caller writes commit together or not at all
// (ARCHITECTURE §5). Every query is scoped by the entity's fiscal code, and by the application
// where the key is the application's external id.
//
// Lifecycle (DIGEST §4, docs/positions.md):
//   DRAFT -> PUBLISHED -> VALID -> PARTIALLY_PAID -> PAID
//   DRAFT/PUBLISHED -> VALID (publish with no or a past validity date; the sweep at the date)
//   VALID -> EXPIRED (sweep, services that say so)   DRAFT/PUBLISHED/VALID -> CANCELLED
#include <pagohub/config/entity.hpp>
#include <pagohub/core/error.hpp>
#include <pagohub/positions/model.hpp>
#include <pqxx/dbtransaction>
#include <pqxx/row>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::positions {

/// Who makes a change; recorded with every transition (position_events).
struct actor {
  std::string kind;          ///< "application", "operator", "admin" or "system"
  std::string id;            ///< application id, operator login, job name...
  std::string request_id{};  ///< the request (or job run) that made the change; may be empty
};

/// What upsert did.
struct upsert_outcome {
  bool created = false;  ///< true: a new position (HTTP 201); false: replaced (HTTP 200)
  position stored;       ///< the position as stored, notice numbers included
};

/// Creates or replaces the position (entity, application_id, incoming.external_id).
///
/// normalize()s and validate()s `incoming` first: the first broken rule is returned as
/// errc::invalid_input with its path (callers wanting every error call validate() themselves
/// first). A new position starts as DRAFT. A replacement is refused with errc::conflict once an
/// option is paid or the position is cancelled; it keeps the status, except that a PUBLISHED,
/// VALID or EXPIRED position is re-judged against its (new) validity date like publish() does.
/// Options without a notice number keep the one of the stored option of the same kind and
/// instalment, or get a fresh one (allocate_notice_numbers). An entity-supplied notice number
/// used by another of the entity's positions is errc::conflict with the option's path.
/// `now` is the change's time; "today" for the due-date rule is rome_date(now).
core::result<upsert_outcome> upsert(pqxx::dbtransaction& w, const config::entity& entity,
                                    const std::string& application_id, position incoming,
                                    const actor& by, timestamp now);

/// upsert() for a position the caller has just found stored (its create met the key): the
/// same outcome, without first trying the insert and drawing notice numbers for it. Should the
/// position not be there after all, it is created as upsert() would.
core::result<upsert_outcome> upsert_existing(pqxx::dbtransaction& w, const config::entity& entity,
                                             const std::string& application_id, position incoming,
                                             const actor& by, timestamp now);

/// upsert() that only creates (If-None-Match: *): the same normalization, rules and errors, and
/// a due date in the past is always refused. nullopt, with no position written, when the
/// position exists, including one another transaction created after the caller last looked
/// (the insert then waits for that transaction and does nothing).
core::result<std::optional<upsert_outcome>> create_only(pqxx::dbtransaction& w,
                                                        const config::entity& entity,
                                                        const std::string& application_id,
                                                        position incoming, const actor& by,
                                                        timestamp now);

/// A position ready to be created: what prepare_create() made of the input.
struct new_position {
  const config::entity* entity = nullptr;
  position p;  ///< normalized and validated
  actor by;
  timestamp now{};
};

/// create_only()'s normalization and rules, without the database: the position as it would be
/// created, or the first rule it breaks as errc::invalid_input (a due date in the past
/// included, which a replacement could keep: upsert() then decides). `owned`: its notice
/// numbers outside the entity's notice space that the application owns (owned_notices), which
/// the rules accept; without them any such number is `not_owned`.
core::result<new_position> prepare_create(const config::entity& entity,
                                          const std::string& application_id, position incoming,
                                          const actor& by, timestamp now,
                                          const std::set<std::string>& owned = {});

/// Creates positions made by prepare_create() in one statement, with one notice allocation per
/// entity: what one create_only() each would do, for about the database cost of one
/// (docs/positions.md "Performance"). The i-th result is the i-th position as created, or
/// nullopt when one with its key exists (nothing is written for it). Keys must be distinct and
/// options without entity-supplied notice numbers (those go through create_only(), which
/// checks them); std::invalid_argument otherwise. A database error throws and, with the
/// caller's rollback, writes nothing of the batch.
std::vector<std::optional<upsert_outcome>> create_many(pqxx::dbtransaction& w,
                                                       std::vector<new_position> items);

/// The position with this external id of this application of this entity, with its options,
/// transfers and accounting lines; nullopt when there is none. It is read in several
/// statements: in READ COMMITTED, a replacement committing between them can tear it (a row of
/// one version, options of the next). Read it in REPEATABLE READ, or with the position locked.
std::optional<position> find_by_external_id(pqxx::dbtransaction& w, std::string_view entity_fc,
                                            std::string_view application_id,
                                            std::string_view external_id);

/// The service code of that position alone (one statement), or nullopt when there is none.
std::optional<std::string> find_service_code(pqxx::dbtransaction& w, std::string_view entity_fc,
                                             std::string_view application_id,
                                             std::string_view external_id);

/// The debtor from ten consecutive columns of `row`, from `first`: type, fiscal code, full name,
/// street, civic number, postal code, city, province or region, country, email. The phone is
/// left to the caller (not every query reads it). Throws on a type the database cannot hold.
debtor read_debtor(const pqxx::row& row, pqxx::row::size_type first);

/// The position one of whose options has this notice number (whole position; the caller picks
/// the option), or nullopt. Any application's position of the entity. Several statements, as
/// find_by_external_id.
std::optional<position> find_by_notice(pqxx::dbtransaction& w, std::string_view entity_fc,
                                       std::string_view notice_number);

/// The filters of list(); empty optionals do not filter.
struct list_query {
  /// The entities the caller may see (from its credentials). Empty = nothing is returned.
  std::vector<std::string> entities;
  std::optional<std::string> application_id;
  std::optional<position_status> status;
  std::optional<std::string> service;
  std::optional<std::string> debtor;       ///< debtor fiscal code, exact (upper-cased)
  std::optional<date> due_from, due_to;    ///< inclusive, on the position's (latest) due date
  std::optional<timestamp> updated_since;  ///< updated_at >= updated_since
  std::optional<std::string> cursor;       ///< next_cursor of the previous page
  int limit = 50;                          ///< 1..500
  /// The options, transfers and accounting lines a page may bring: past it the page ends early
  /// (with a cursor), whatever `limit` says, and holds at least one position.
  std::int64_t max_children = 50'000;
};

/// One page of list().
struct list_page {
  std::vector<position> items;
  std::optional<std::string> next_cursor;  ///< absent on the last page
};

/// Positions matching `q`, ordered by id (creation order), with keyset pagination: the cursor
/// is opaque (base64url of the last id), so pages never skip or repeat a position, however the
/// positions change between two pages (a position updated meanwhile keeps its place; poll
/// updatedSince to see changes). Options, transfers and accounting lines for the whole page
/// come in a constant number of queries. errc::invalid_input for a malformed cursor (path
/// "/query/cursor") or a limit outside 1..500 ("/query/limit").
core::result<list_page> list(pqxx::dbtransaction& w, const list_query& q);

/// DRAFT -> PUBLISHED when the validity date is in the future, else -> VALID (GPD publish).
/// Publishing a PUBLISHED or VALID position again returns it unchanged. errc::not_found for no
/// such position, errc::conflict in any other state.
core::result<position> publish(pqxx::dbtransaction& w, std::string_view entity_fc,
                               std::string_view application_id, std::string_view external_id,
                               const actor& by, timestamp now);

/// DRAFT, PUBLISHED or VALID -> CANCELLED (GPD invalidate). Cancelling a CANCELLED position
/// returns it unchanged; PARTIALLY_PAID, PAID and EXPIRED ones are errc::conflict.
core::result<position> cancel(pqxx::dbtransaction& w, std::string_view entity_fc,
                              std::string_view application_id, std::string_view external_id,
                              const actor& by, timestamp now);

/// The actor of changes caused by pagoPA receipts.
actor receipt_actor();

/// Records that the option with `notice_number` was paid by receipt `receipt_id`: option
/// UNPAID -> PAID; position -> PAID when that completes a plan (the single option, or every
/// instalment), else -> PARTIALLY_PAID. A receipt cannot be refused (DIGEST §1.3), so this
/// works in any position state. Idempotent: the same receipt again returns the position
/// unchanged; an option already paid by another receipt is errc::conflict. errc::not_found
/// when the entity has no such notice number.
core::result<position> mark_option_paid(pqxx::dbtransaction& w, std::string_view entity_fc,
                                        std::string_view notice_number, std::string_view receipt_id,
                                        timestamp paid_at, timestamp now,
                                        const actor& by = receipt_actor());

/// What pay_option() did: enough for a receipt's bookkeeping without reloading the position.
struct paid_option {
  std::int64_t position_id = 0;
  std::int64_t option_id = 0;
  position_status from = position_status::draft;  ///< the position's status before
  position_status to = position_status::draft;    ///< and after (equal when `repeated`)
  bool repeated = false;  ///< the option was already paid by this very receipt: nothing changed
};

/// Locks the position that owns `notice_number` (FOR UPDATE) and returns its id; nullopt when
/// the entity has no such notice. A caller that must judge a position before paying it (the
/// receipt path) locks it first, so that what it reads next is what pay_option() will find:
/// nothing can change it in between, and a change that committed while this waited is seen.
std::optional<std::int64_t> lock_notice_owner(pqxx::dbtransaction& w, std::string_view entity_fc,
                                              std::string_view notice_number);

/// mark_option_paid() without the reload of the whole position: the same rules, effects and
/// errors, in three statements (lock the position owning the notice; then read and lock the
/// option, which sees a replacement of the position that committed while this waited; update
/// both and write the position_events row). For the receipt path, which needs only ids and
/// statuses. `locked_position`: the id lock_notice_owner() returned in this transaction, when
/// the caller holds that lock already (it is then not asked for again).
core::result<paid_option> pay_option(pqxx::dbtransaction& w, std::string_view entity_fc,
                                     std::string_view notice_number, std::string_view receipt_id,
                                     timestamp paid_at, timestamp now,
                                     const actor& by = receipt_actor(),
                                     std::optional<std::int64_t> locked_position = std::nullopt);

/// A scalar SQL subquery: why the position cannot change (a 2018-model payment of one of its
/// notices is in progress: rpt_payment_in_progress, sql/0030), or NULL. The arguments are SQL
/// expressions for the entity, the position id and the instant. The one wording of that refusal,
/// for the REST writes (409) and the bulk imports' report alike.
std::string payment_in_progress_sql(std::string_view entity, std::string_view position_id,
                                    std::string_view at);

/// A service whose VALID positions expire after their due date (GPD switchToExpired).
struct expiring_service {
  std::string entity_fiscal_code;
  std::string service_code;
};

/// What advance_lifecycle() moved.
struct lifecycle_counts {
  std::int64_t validated = 0;  ///< PUBLISHED -> VALID
  std::int64_t expired = 0;    ///< VALID -> EXPIRED
};

/// The periodic, set-based sweep: PUBLISHED positions whose validity date has come become
/// VALID; VALID positions of the `expiring` services whose due date is before today (Europe/
/// Rome) become EXPIRED. At most `max_rows` of each per call (call again while a count equals
/// it); rows locked by other transactions are skipped, not waited for. Every move writes its
/// position_events row (actor kind "system", id "lifecycle").
lifecycle_counts advance_lifecycle(pqxx::dbtransaction& w, timestamp now,
                                   const std::vector<expiring_service>& expiring,
                                   int max_rows = 10000);

}  // namespace pagohub::positions
