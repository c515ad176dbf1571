// Lifecycle transitions (DIGEST §4 "Lifecycle"): publish, cancel, payment of an option, and the
// periodic sweep. Each writes its position_events row in the caller's transaction.
#include <nlohmann/json.hpp>
#include <pagohub/core/text.hpp>
#include <pagohub/db/prepared.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/store.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "store_rows.hpp"

namespace pagohub::positions {
namespace {

using detail::event_row;
using detail::micros_of;
using detail::record_event;
using detail::to_micros;
using detail::ts_param;

struct locked {
  std::int64_t id = 0;
  position_status status = position_status::draft;
  std::optional<timestamp> validity_date;
};

std::optional<locked> lock_by_key(pqxx::dbtransaction& w, std::string_view entity_fc,
                                  std::string_view application_id, std::string_view external_id) {
  const pqxx::result r =
      w.exec_params("SELECT id, status, " + micros_of("validity_date") +
                        " FROM positions WHERE entity_fiscal_code = $1 AND application_id = $2 "
                        "AND external_id = $3 FOR UPDATE",
                    std::string(entity_fc), std::string(application_id), std::string(external_id));
  if (r.empty()) return std::nullopt;
  locked l;
  l.id = r[0][0].as<std::int64_t>();
  l.status = parse_position_status(r[0][1].c_str()).value();
  if (!r[0][2].is_null()) l.validity_date = detail::from_micros(r[0][2].as<std::int64_t>());
  return l;
}

void set_status(pqxx::dbtransaction& w, std::string_view entity_fc, std::int64_t id,
                position_status to, timestamp now, bool published) {
  w.exec_params("UPDATE positions SET status = $3, updated_at = " + ts_param(4) +
                    ", version = version + 1" +
                    (published ? ", published_at = " + ts_param(4) : std::string()) +
                    " WHERE entity_fiscal_code = $1 AND id = $2",
                std::string(entity_fc), id, std::string(to_string(to)), to_micros(now));
}

core::result<position> reload(pqxx::dbtransaction& w, std::string_view entity_fc, std::int64_t id) {
  auto p = detail::load_by_id(w, entity_fc, id);
  if (!p) throw std::logic_error("a locked position vanished");
  return *std::move(p);
}

std::unexpected<core::error> not_found(std::string_view external_id) {
  return core::fail(core::errc::not_found,
                    "no position with external id " + std::string(external_id));
}

}  // namespace

core::result<position> publish(pqxx::dbtransaction& w, std::string_view entity_fc,
                               std::string_view application_id, std::string_view external_id,
                               const actor& by, timestamp now) {
  detail::check_actor(by);
  now = std::chrono::floor<std::chrono::microseconds>(now);
  const auto l = lock_by_key(w, entity_fc, application_id, external_id);
  if (!l) return not_found(external_id);
  if (l->status == position_status::published || l->status == position_status::valid) {
    return reload(w, entity_fc, l->id);  // publishing twice is a no-op, not an error
  }
  if (l->status != position_status::draft) {
    return core::fail(core::errc::conflict,
                      "a " + std::string(to_string(l->status)) + " position cannot be published");
  }
  // GPD: toPublish with a future validityDate -> PUBLISHED, else straight to VALID.
  const position_status to = (l->validity_date && *l->validity_date > now)
                                 ? position_status::published
                                 : position_status::valid;
  set_status(w, entity_fc, l->id, to, now, true);
  record_event(w, event_row{entity_fc, l->id, "PUBLISHED", l->status, to, now}, by);
  return reload(w, entity_fc, l->id);
}

core::result<position> cancel(pqxx::dbtransaction& w, std::string_view entity_fc,
                              std::string_view application_id, std::string_view external_id,
                              const actor& by, timestamp now) {
  detail::check_actor(by);
  now = std::chrono::floor<std::chrono::microseconds>(now);
  const auto l = lock_by_key(w, entity_fc, application_id, external_id);
  if (!l) return not_found(external_id);
  if (l->status == position_status::cancelled) return reload(w, entity_fc, l->id);
  if (l->status != position_status::draft && l->status != position_status::published &&
      l->status != position_status::valid) {
    return core::fail(core::errc::conflict,
                      "a " + std::string(to_string(l->status)) + " position cannot be cancelled");
  }
  if (auto busy = detail::payment_in_progress(w, entity_fc, l->id, now))
    return std::unexpected(*busy);
  set_status(w, entity_fc, l->id, position_status::cancelled, now, false);
  record_event(
      w, event_row{entity_fc, l->id, "CANCELLED", l->status, position_status::cancelled, now}, by);
  return reload(w, entity_fc, l->id);
}

actor receipt_actor() {
  return actor{"system", "receipt", ""};
}

namespace {

// The position that owns a notice, locked. Positions are locked before their options, as every
// writer does (upsert's replacement, an import's load, publish, cancel): a replacement deletes
// and re-inserts the options under the position's lock, so an option row found and locked first
// could be gone when that lock is granted. The position row survives a replacement (it is
// updated in place, id unchanged), so waiting on it ends with the lock, never with no row.
constexpr db::statement lock_notice_position{
    "positions.lock_notice_position",
    "SELECT p.id FROM positions p WHERE p.entity_fiscal_code = $1 AND p.id = ( "
    "  SELECT o.position_id FROM payment_options o "
    "  WHERE o.entity_fiscal_code = $1 AND o.notice_number = $2) FOR UPDATE"};

// The option, read by a statement that starts after the position's lock is held: in READ
// COMMITTED its snapshot includes a replacement that committed while this transaction waited.
// Two receipts for two instalments of one plan serialize on the position, so neither sees the
// other instalment unpaid; the option row is locked as well so that nothing changes it alone
// while the payment is being applied.
constexpr db::statement lock_option{
    "positions.lock_option",
    "SELECT o.id, o.position_id, o.kind, o.status, o.receipt_id, p.status "
    "FROM payment_options o JOIN positions p "
    "  ON p.entity_fiscal_code = o.entity_fiscal_code AND p.id = o.position_id "
    "WHERE o.entity_fiscal_code = $1 AND o.notice_number = $2 FOR UPDATE OF o"};

// Locks the position owning `notice_number`, then its option; empty when the entity has no
// such notice (any more). A replacement may have given the notice to another position between
// the two statements (a number freed by one position and supplied by another): the owner is
// then locked in turn, a bounded number of times, since each step follows a committed change.
// `held`: the owner the caller has locked already (lock_notice_owner()).
pqxx::result lock_notice(pqxx::dbtransaction& w, const std::string& entity,
                         const std::string& notice_number, std::optional<std::int64_t> held) {
  constexpr int max_moves = 3;
  for (int attempt = 0; attempt <= max_moves; ++attempt) {
    if (!held) {
      const pqxx::result p = db::exec_prepared(w, lock_notice_position, entity, notice_number);
      if (p.empty()) return p;
      held = p[0][0].as<std::int64_t>();
    }
    pqxx::result r = db::exec_prepared(w, lock_option, entity, notice_number);
    if (r.empty() || r[0][1].as<std::int64_t>() == *held) return r;
    held.reset();
  }
  throw std::runtime_error("notice " + notice_number + " kept moving between positions");
}

// One statement for the option, the position and its event. It runs after lock_notice, so its
// snapshot already sees any other instalment paid by a transaction that held the lock before;
// the option updated here is not visible to the instalment check (same statement), hence the
// `x.id <> $2`. DIGEST §4: PARTIALLY_PAID while some instalment of a plan is unpaid; PAID once
// any plan (the single option, or all instalments) is. A receipt is applied whatever the state
// (DIGEST §1.3), but an instalment paid late on a position that was not payable (cancelled,
// expired, not yet valid) leaves it as it was: PARTIALLY_PAID would make its other instalments
// payable again, and a cancelled plan could no longer be cancelled.
constexpr db::statement apply_payment{
    "positions.apply_payment",
    "WITH o AS (UPDATE payment_options SET status = 'PAID', "
    "    paid_at = 'epoch'::timestamptz + $4::bigint * interval '1 microsecond', receipt_id = $5 "
    "  WHERE entity_fiscal_code = $1 AND id = $2 RETURNING id), "
    "s AS (SELECT CASE WHEN $6::boolean OR $7::text = 'PAID' OR NOT EXISTS ( "
    "    SELECT 1 FROM payment_options x WHERE x.entity_fiscal_code = $1 AND x.position_id = $3 "
    "      AND x.kind = 'INSTALMENT' AND x.status = 'UNPAID' AND x.id <> $2) "
    "  THEN 'PAID' WHEN $7::text IN ('VALID', 'PARTIALLY_PAID') THEN 'PARTIALLY_PAID' "
    "  ELSE $7::text END AS to_status FROM o), "
    "p AS (UPDATE positions q SET status = s.to_status, "
    "    updated_at = 'epoch'::timestamptz + $8::bigint * interval '1 microsecond', "
    "    version = q.version + 1 FROM s WHERE q.entity_fiscal_code = $1 AND q.id = $3 "
    "  RETURNING q.id), "
    "e AS (INSERT INTO position_events (entity_fiscal_code, position_id, event, from_status, "
    "    to_status, notice_number, receipt_id, at, actor_kind, actor_id, request_id) "
    "  SELECT $1, $3, 'OPTION_PAID', $7, s.to_status, $9, $5, "
    "    'epoch'::timestamptz + $8::bigint * interval '1 microsecond', $10, $11, $12 FROM s) "
    "SELECT s.to_status, (SELECT count(*) FROM p) FROM s"};

}  // namespace

std::optional<std::int64_t> lock_notice_owner(pqxx::dbtransaction& w, std::string_view entity_fc,
                                              std::string_view notice_number) {
  const pqxx::result p = db::exec_prepared(w, lock_notice_position, std::string(entity_fc),
                                           std::string(notice_number));
  if (p.empty()) return std::nullopt;
  return p[0][0].as<std::int64_t>();
}

core::result<paid_option> pay_option(pqxx::dbtransaction& w, std::string_view entity_fc,
                                     std::string_view notice_number, std::string_view receipt_id,
                                     timestamp paid_at, timestamp now, const actor& by,
                                     std::optional<std::int64_t> locked_position) {
  detail::check_actor(by);
  // Characters, as the receipts store counts them (stText35): a shorter id in bytes would be
  // stored as it is and then refused here, leaving the notice payable again.
  if (const auto chars = core::utf8_length(receipt_id);
      receipt_id.empty() || !chars || *chars > 35) {
    return core::fail(core::errc::invalid_input, "a receipt id is 1..35 characters", "/receiptId");
  }
  now = std::chrono::floor<std::chrono::microseconds>(now);
  paid_at = std::chrono::floor<std::chrono::microseconds>(paid_at);
  const std::string entity(entity_fc);
  const pqxx::result r = lock_notice(w, entity, std::string(notice_number), locked_position);
  if (r.empty()) {
    return core::fail(core::errc::not_found,
                      "entity " + entity + " has no notice number " + std::string(notice_number));
  }
  paid_option out;
  out.option_id = r[0][0].as<std::int64_t>();
  out.position_id = r[0][1].as<std::int64_t>();
  const bool single = std::string_view(r[0][2].c_str()) == "SINGLE";
  out.from = parse_position_status(r[0][5].c_str()).value();
  if (std::string_view(r[0][3].c_str()) != "UNPAID") {
    if (!r[0][4].is_null() && std::string_view(r[0][4].c_str()) == receipt_id) {
      out.to = out.from;
      out.repeated = true;  // the same receipt again
      return out;
    }
    return core::fail(core::errc::conflict,
                      "notice " + std::string(notice_number) + " is already paid by receipt " +
                          (r[0][4].is_null() ? std::string("(none)") : r[0][4].as<std::string>()));
  }
  std::optional<std::string> request;
  if (!by.request_id.empty()) request = by.request_id;
  const pqxx::result applied = db::exec_prepared(
      w, apply_payment, entity, out.option_id, out.position_id, to_micros(paid_at),
      std::string(receipt_id), single, std::string(to_string(out.from)), to_micros(now),
      std::string(notice_number), by.kind, by.id, request);
  if (applied.size() != 1 || applied[0][1].as<std::int64_t>() != 1) {
    throw std::logic_error("a locked option or position vanished while being paid");
  }
  out.to = parse_position_status(applied[0][0].c_str()).value();
  return out;
}

core::result<position> mark_option_paid(pqxx::dbtransaction& w, std::string_view entity_fc,
                                        std::string_view notice_number, std::string_view receipt_id,
                                        timestamp paid_at, timestamp now, const actor& by) {
  auto paid = pay_option(w, entity_fc, notice_number, receipt_id, paid_at, now, by);
  if (!paid) return std::unexpected(paid.error());
  return reload(w, entity_fc, paid->position_id);
}

lifecycle_counts advance_lifecycle(pqxx::dbtransaction& w, timestamp now,
                                   const std::vector<expiring_service>& expiring, int max_rows) {
  if (max_rows < 1) throw std::invalid_argument("advance_lifecycle: max_rows must be positive");
  now = std::chrono::floor<std::chrono::microseconds>(now);
  lifecycle_counts counts;
  const std::string at = ts_param(1);
  const std::string events =
      "INSERT INTO position_events (entity_fiscal_code, position_id, event, from_status, "
      "to_status, at, actor_kind, actor_id) SELECT entity_fiscal_code, id, $3, $4, $5, " +
      at + ", 'system', 'lifecycle' FROM moved ";

  // PUBLISHED -> VALID once the validity date has come (GPD). The candidates are picked once
  // (a MATERIALIZED CTE, so LIMIT and SKIP LOCKED apply to one scan); SKIP LOCKED leaves a
  // position being changed right now to the next run instead of stalling the sweep.
  counts.validated = w.exec_params1(
                          "WITH c AS MATERIALIZED (SELECT entity_fiscal_code, id FROM positions "
                          "  WHERE status = 'PUBLISHED' AND validity_date <= " +
                              at +
                              "  ORDER BY validity_date, id LIMIT $2 FOR UPDATE SKIP LOCKED), "
                              "moved AS (UPDATE positions p SET status = 'VALID', updated_at = " +
                              at +
                              ", version = p.version + 1 FROM c "
                              "  WHERE p.entity_fiscal_code = c.entity_fiscal_code AND p.id = c.id "
                              "  RETURNING p.entity_fiscal_code, p.id), "
                              "ev AS (" +
                              events + ") SELECT count(*) FROM moved",
                          to_micros(now), max_rows, "VALIDATED", "PUBLISHED", "VALID")[0]
                         .as<std::int64_t>();

  if (expiring.empty()) return counts;
  nlohmann::json services = nlohmann::json::array();
  for (const auto& s : expiring) {
    services.push_back(
        {{"entity_fiscal_code", s.entity_fiscal_code}, {"service_code", s.service_code}});
  }
  // VALID -> EXPIRED when the (latest) due date is before today in Europe/Rome: the due day
  // itself is still payable. Not while a 2018-model payment of it is in progress (sql/0030):
  // the PSP took it while it was payable, and the back-office would hear "expired" just before
  // the RT pays it. The sweep after the lock ends expires it if the RT did not pay it.
  counts.expired =
      w.exec_params1(
           "WITH c AS MATERIALIZED (SELECT q.entity_fiscal_code, q.id FROM positions q "
           "  JOIN jsonb_to_recordset($6::jsonb) "
           "    AS s(entity_fiscal_code text, service_code text) "
           "    ON q.entity_fiscal_code = s.entity_fiscal_code "
           "   AND q.service_code = s.service_code "
           "  WHERE q.status = 'VALID' AND q.due_date < $7::date "
           "    AND NOT EXISTS (SELECT 1 FROM rpt_payment_in_progress(q.entity_fiscal_code, "
           "q.id, " +
               at +
               ")) "
               "  ORDER BY q.due_date, q.id LIMIT $2 FOR UPDATE OF q SKIP LOCKED), "
               "moved AS (UPDATE positions p SET status = 'EXPIRED', updated_at = " +
               at +
               ", version = p.version + 1 FROM c "
               "  WHERE p.entity_fiscal_code = c.entity_fiscal_code AND p.id = c.id "
               "  RETURNING p.entity_fiscal_code, p.id), "
               "ev AS (" +
               events + ") SELECT count(*) FROM moved",
           to_micros(now), max_rows, "EXPIRED", "VALID", "EXPIRED", services.dump(),
           format_date(rome_date(now)))[0]
          .as<std::int64_t>();
  return counts;
}

}  // namespace pagohub::positions
