// upsert(): create or replace a position by (entity, application, external id); create_only().
#include <pagohub/db/prepared.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/notice_numbers.hpp>
#include <pagohub/positions/store.hpp>
#include <pagohub/positions/validation.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "store_rows.hpp"
#include "store_write.hpp"

namespace pagohub::positions {
namespace {

using detail::micros_of;
using detail::to_micros;
using detail::ts_param;

// The stored state upsert needs to decide between refusing and replacing.
struct current_row {
  std::int64_t id = 0;
  position_status status = position_status::draft;
  timestamp created_at{};
  std::optional<timestamp> published_at;
  std::int64_t version = 0;
  bool any_paid = false;
  std::map<std::pair<option_kind, int>, std::string> notices;  // (kind, instalment) -> notice
};

core::error invalid(const field_error& e) {
  return core::error{core::errc::invalid_input, e.message, e.path};
}

// Prepared once per connection (db/prepared.hpp): planning the CTEs costs more than running
// them. The children ($25 to $27, children_sql()) key every row with k = 0.
const db::statement& replace_statement() {
  static const std::string sql =
      "WITH p AS (\n"
      "  UPDATE positions SET status = $3, debtor_type = $4, debtor_fiscal_code = $5,\n"
      "    debtor_full_name = $6, debtor_street_name = $7, debtor_civic_number = $8,\n"
      "    debtor_postal_code = $9, debtor_city = $10, debtor_state_province_region = $11,\n"
      "    debtor_country = $12, debtor_email = $13, debtor_phone = $14, description = $15,\n"
      "    service_code = $16, reference_year = $17, validity_date = " +
      ts_param(18) +
      ",\n"
      "    due_date = $19::date, metadata = $20::jsonb, updated_at = " +
      ts_param(21) +
      ",\n"
      "    version = version + 1\n"
      "  WHERE entity_fiscal_code = $1 AND id = $2\n"
      "  RETURNING entity_fiscal_code, id\n"
      "),\n"
      "ev AS (\n"
      "  INSERT INTO position_events (entity_fiscal_code, position_id, event, from_status,\n"
      "    to_status, at, actor_kind, actor_id, request_id)\n"
      "  SELECT p.entity_fiscal_code, p.id, 'REPLACED', $28, $3, " +
      ts_param(21) +
      ", $22, $23, $24 FROM p\n"
      "),\n"
      "pk AS (SELECT 0 AS k, entity_fiscal_code, id FROM p),\n" +
      detail::children_sql(25) + "SELECT p.id FROM p";
  static const db::statement statement{"positions.replace", sql.c_str()};
  return statement;
}

std::optional<std::int64_t> micros_or_null(const std::optional<timestamp>& t) {
  if (!t) return std::nullopt;
  return to_micros(*t);
}

std::optional<std::string> request_or_null(const actor& by) {
  if (by.request_id.empty()) return std::nullopt;
  return by.request_id;
}

// Runs the replace statement: $2 is the position id, $3 the new status, $28 the status before.
pqxx::result run_replace(pqxx::transaction_base& tx, const position& p, std::int64_t id,
                         position_status next, position_status before, const actor& by,
                         timestamp now) {
  const debtor& d = p.payer;
  detail::children_doc children;
  children.add(p, 0);
  return db::exec_prepared(
      tx, replace_statement(), p.entity_fiscal_code, id, std::string(to_string(next)),
      std::string(to_string(d.type)), d.fiscal_code, d.full_name, d.street_name, d.civic_number,
      d.postal_code, d.city, d.state_province_region, d.country, d.email, d.phone, p.description,
      p.service_code, p.reference_year, micros_or_null(p.validity_date), format_date(p.due_date),
      detail::metadata_json(p.metadata), to_micros(now), by.kind, by.id, request_or_null(by),
      children.options_json(), children.transfers_json(), children.accounting_json(),
      std::string(to_string(before)));
}

// An entity-supplied notice number already used by another of the entity's positions (any
// position but the one with this application and external id, which is being replaced), or one
// whose option another application dropped: its IUV names that application's debt for good
// (sql/0031), and a debtor holding the first notice would otherwise pay someone else's. The
// application that dropped it may issue it again.
std::optional<core::error> notice_taken(pqxx::dbtransaction& w, const position& p,
                                        const std::vector<std::size_t>& supplied) {
  if (supplied.empty()) return std::nullopt;
  std::string list = "{";
  for (std::size_t k = 0; k < supplied.size(); ++k) {
    if (k > 0) list += ',';
    list += p.options[supplied[k]].notice_number;  // 18 digits: validated
  }
  list += '}';
  static constexpr db::statement taken_sql{
      "positions.notice_taken",
      "(SELECT o.notice_number, false FROM payment_options o JOIN positions q "
      "   ON q.entity_fiscal_code = o.entity_fiscal_code AND q.id = o.position_id "
      " WHERE o.entity_fiscal_code = $1 AND o.notice_number = ANY($2::text[]) "
      "   AND NOT (q.application_id = $3 AND q.external_id = $4) LIMIT 1) "
      "UNION ALL "
      "(SELECT n, true FROM unnest($2::text[]) n JOIN notice_owners r "
      "   ON r.entity_fiscal_code = $1 AND r.iuv = pagohub_notice_iuv(n) "
      " WHERE r.application_id <> $3 LIMIT 1) "
      "LIMIT 1"};
  const pqxx::result r =
      db::exec_prepared(w, taken_sql, p.entity_fiscal_code, list, p.application_id, p.external_id);
  if (r.empty()) return std::nullopt;
  const std::string taken = r[0][0].as<std::string>();
  const bool retired = r[0][1].as<bool>();
  for (std::size_t i : supplied) {
    if (p.options[i].notice_number == taken) {
      return core::error{
          core::errc::conflict,
          "notice number " + taken + std::string(retired ? notice_retired : notice_in_use),
          "/paymentOptions/" + std::to_string(i) + "/noticeNumber"};
    }
  }
  return std::nullopt;
}

// Runs `write` in a savepoint when entity-supplied notice numbers could collide with a
// concurrent load (the unique constraint then reports it); otherwise directly, saving the two
// round trips of a savepoint on the common path.
//
// The savepoint is plain SQL rather than a pqxx::subtransaction: libpqxx 6 starts a
// subtransaction lazily, on its first exec(), and exec_params() does not start it, so the
// statement would run outside the savepoint. exec_params() also leaves the transaction's state
// alone on an error, which is what lets ROLLBACK TO SAVEPOINT follow it.
template <class Write>
auto guarded(pqxx::dbtransaction& w, bool supplied, Write write)
    -> core::result<decltype(write(w))> {
  if (!supplied) return write(w);
  w.exec0("SAVEPOINT positions_write");
  try {
    auto r = write(w);
    w.exec0("RELEASE SAVEPOINT positions_write");
    return r;
  } catch (const pqxx::unique_violation& e) {
    const std::string what = e.what();
    if (what.find("payment_options_notice_key") == std::string::npos &&
        what.find("payment_options_iuv_key") == std::string::npos) {
      throw;
    }
    w.exec0("ROLLBACK TO SAVEPOINT positions_write");
    return core::fail(core::errc::conflict,
                      "a notice number of this position was just taken by another position",
                      "/paymentOptions");
  }
}

// Gives every option a notice number: the supplied one, the stored option's of the same kind
// and instalment (`kept`) unless another option now supplies that very number, or a fresh one.
// Returns the options whose number the entity supplied and the position did not have yet:
// those alone can collide with another position's.
std::vector<std::size_t> assign_notices(
    pqxx::dbtransaction& w, const config::entity& entity, position& p,
    const std::map<std::pair<option_kind, int>, std::string>& kept) {
  std::set<std::string> own;
  for (const auto& entry : kept) own.insert(entry.second);
  std::set<std::string> input;
  std::vector<std::size_t> supplied;
  for (std::size_t i = 0; i < p.options.size(); ++i) {
    const std::string& n = p.options[i].notice_number;
    if (n.empty()) continue;
    input.insert(n);
    if (!own.contains(n)) supplied.push_back(i);
  }
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < p.options.size(); ++i) {
    payment_option& o = p.options[i];
    if (!o.notice_number.empty()) continue;
    const auto it = kept.find({o.kind, o.instalment});
    if (it != kept.end() && !input.contains(it->second)) {
      o.notice_number = it->second;
    } else {
      missing.push_back(i);
    }
  }
  // The options' own numbers are not stored yet: the allocation must be told to skip them.
  const auto fresh = allocate_notice_numbers(w, entity, static_cast<int>(missing.size()), input);
  for (std::size_t k = 0; k < missing.size(); ++k) {
    p.options[missing[k]].notice_number = fresh[k].str();
  }
  for (payment_option& o : p.options) {
    o.iuv = core::notice_number::parse(o.notice_number).value().iuv();
  }
  return supplied;
}

std::optional<current_row> lock_current(pqxx::dbtransaction& w, const std::string& entity_fc,
                                        const std::string& application_id,
                                        const std::string& external_id) {
  static const std::string lock_sql =
      "SELECT id, status, " + micros_of("created_at") + ", " + micros_of("published_at") +
      ", version FROM positions WHERE entity_fiscal_code = $1 AND application_id = $2 "
      "AND external_id = $3 FOR UPDATE";
  static const db::statement lock{"positions.lock_current", lock_sql.c_str()};
  static constexpr db::statement options{
      "positions.current_options",
      "SELECT kind, instalment, notice_number, status FROM payment_options "
      "WHERE entity_fiscal_code = $1 AND position_id = $2"};
  const pqxx::result r = db::exec_prepared(w, lock, entity_fc, application_id, external_id);
  if (r.empty()) return std::nullopt;
  current_row c;
  c.id = r[0][0].as<std::int64_t>();
  c.status = parse_position_status(r[0][1].c_str()).value();
  c.created_at = detail::from_micros(r[0][2].as<std::int64_t>());
  if (!r[0][3].is_null()) c.published_at = detail::from_micros(r[0][3].as<std::int64_t>());
  c.version = r[0][4].as<std::int64_t>();
  for (const auto& o : db::exec_prepared(w, options, entity_fc, c.id)) {
    const option_kind kind = parse_option_kind(o[0].c_str()).value();
    c.notices.emplace(std::pair{kind, o[1].as<int>()}, o[2].as<std::string>());
    if (std::string_view(o[3].c_str()) != "UNPAID") c.any_paid = true;
  }
  return c;
}

// A replacement re-judges a published position against its validity date, like publish().
position_status status_after_replace(position_status current, const position& p, timestamp now) {
  if (current == position_status::draft) return current;
  // An expired position comes back only with a due date moved to today or later: with its old
  // dates it would be payable until the next sweep expired it again, and that second expiry
  // would reach no back-office (its outbox message is keyed by the position and exists).
  if (current == position_status::expired && p.due_date < rome_date(now)) return current;
  return (p.validity_date && *p.validity_date > now) ? position_status::published
                                                     : position_status::valid;
}

core::result<std::optional<upsert_outcome>> try_create(pqxx::dbtransaction& w,
                                                       const config::entity& entity, position p,
                                                       const actor& by, timestamp now) {
  const std::vector<std::size_t> supplied = assign_notices(w, entity, p, {});
  if (auto taken = notice_taken(w, p, supplied)) return std::unexpected(*taken);
  new_position n{&entity, std::move(p), by, now};
  const new_position* const one[] = {&n};
  auto r = guarded(w, !supplied.empty(),
                   [&](pqxx::transaction_base& tx) { return detail::write_new(tx, one); });
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<upsert_outcome>{};  // exists: the caller replaces
  detail::mark_created(n.p, r->begin()->second, now);
  return std::optional<upsert_outcome>{upsert_outcome{true, std::move(n.p)}};
}

core::result<upsert_outcome> replace(pqxx::dbtransaction& w, const config::entity& entity,
                                     const current_row& current, position p, const actor& by,
                                     timestamp now) {
  if (current.status == position_status::cancelled) {
    return core::fail(core::errc::conflict, "the position is cancelled and cannot change");
  }
  if (current.any_paid || current.status == position_status::paid ||
      current.status == position_status::partially_paid) {
    return core::fail(core::errc::conflict,
                      "the position has paid options and cannot change any more");
  }
  if (auto busy = detail::payment_in_progress(w, p.entity_fiscal_code, current.id, now))
    return std::unexpected(*busy);
  const std::vector<std::size_t> supplied = assign_notices(w, entity, p, current.notices);
  if (auto taken = notice_taken(w, p, supplied)) return std::unexpected(*taken);
  // Nothing is paid, so the options can go and come back: their notice numbers are kept above.
  // The delete is inside the savepoint: a supplied number taken meanwhile rolls the write back
  // to the options as they were, and the caller's transaction stays usable (store.hpp).
  static constexpr db::statement drop_options{
      "positions.drop_options",
      "DELETE FROM payment_options WHERE entity_fiscal_code = $1 AND position_id = $2"};
  const position_status next = status_after_replace(current.status, p, now);
  auto r = guarded(w, !supplied.empty(), [&](pqxx::transaction_base& tx) {
    db::exec_prepared(tx, drop_options, p.entity_fiscal_code, current.id);
    return run_replace(tx, p, current.id, next, current.status, by, now);
  });
  if (!r) return std::unexpected(r.error());
  p.id = current.id;
  p.status = next;
  p.created_at = current.created_at;
  p.updated_at = now;
  p.published_at = current.published_at;
  p.version = current.version + 1;
  return upsert_outcome{false, std::move(p)};
}

}  // namespace

namespace {

// What upsert() and create_only() share before they write: the position normalized and
// validated as it will be stored, and whether it may be created (its due dates are not past).
struct prepared_write {
  position p;
  std::vector<field_error> new_errors;  // the rules only a new position breaks
};

// `owned`: the position's notice numbers outside the entity's notice space that the
// application owns (owned_notices), which validation accepts.
core::result<prepared_write> prepare(const config::entity& entity,
                                     const std::string& application_id, position incoming,
                                     const actor& by, timestamp& now,
                                     const std::set<std::string>& owned = {}) {
  detail::check_actor(by);
  if (application_id.empty() || application_id.size() > 64) {
    return core::fail(core::errc::invalid_input, "the application id must be 1..64 characters");
  }
  // The database keeps microseconds; so does the returned position, to equal what a later read
  // returns.
  now = std::chrono::floor<std::chrono::microseconds>(now);
  if (incoming.validity_date) {
    incoming.validity_date = std::chrono::floor<std::chrono::microseconds>(*incoming.validity_date);
  }
  normalize(incoming, entity);
  incoming.application_id = application_id;
  for (payment_option& o : incoming.options) {
    o.status = option_status::unpaid;
    o.paid_at.reset();
    o.receipt_id.reset();
  }

  // The caller has normally validated against the whole registry already; here the rules are
  // enforced again so that nothing invalid is stored whoever calls.
  static const config::entity_registry no_other_entities;
  validation_context ctx{entity, no_other_entities, rome_date(now), false};
  if (!owned.empty())
    ctx.owns_notice = [&owned](const std::string& n) { return owned.contains(n); };
  if (const auto errors = validate(incoming, ctx); !errors.empty()) {
    return std::unexpected(invalid(errors.front()));
  }
  ctx.is_new = true;
  auto new_errors = validate(incoming, ctx);  // only the due-date rule can add errors

  // Transfers are kept, and read back, in idTransfer order.
  for (payment_option& o : incoming.options) {
    std::stable_sort(o.transfers.begin(), o.transfers.end(),
                     [](const transfer& a, const transfer& b) { return a.index < b.index; });
  }
  return prepared_write{std::move(incoming), std::move(new_errors)};
}

}  // namespace

namespace {

// upsert() and upsert_existing(): `create_first` tries the insert before looking for a stored
// position; without it a missing position is created after the look.
core::result<upsert_outcome> write_position(pqxx::dbtransaction& w, const config::entity& entity,
                                            const std::string& application_id, position incoming,
                                            const actor& by, timestamp now, bool create_first) {
  const auto owned = owned_notices(w, entity, application_id, incoming);
  auto prepared = prepare(entity, application_id, std::move(incoming), by, now, owned);
  if (!prepared) return std::unexpected(prepared.error());
  position& p = prepared->p;
  const auto& new_errors = prepared->new_errors;
  if (create_first && new_errors.empty()) {
    auto created = try_create(w, entity, p, by, now);
    if (!created) return std::unexpected(created.error());
    if (*created) return std::move(**created);
  }
  const auto current = lock_current(w, p.entity_fiscal_code, application_id, p.external_id);
  if (!current) {
    if (!new_errors.empty()) return std::unexpected(invalid(new_errors.front()));
    if (!create_first)
      return write_position(w, entity, application_id, std::move(p), by, now, true);
    // The insert met a conflicting row that is gone now: positions are never deleted.
    throw std::logic_error("position vanished during upsert");
  }
  return replace(w, entity, *current, std::move(p), by, now);
}

}  // namespace

core::result<upsert_outcome> upsert(pqxx::dbtransaction& w, const config::entity& entity,
                                    const std::string& application_id, position incoming,
                                    const actor& by, timestamp now) {
  return write_position(w, entity, application_id, std::move(incoming), by, now, true);
}

core::result<upsert_outcome> upsert_existing(pqxx::dbtransaction& w, const config::entity& entity,
                                             const std::string& application_id, position incoming,
                                             const actor& by, timestamp now) {
  return write_position(w, entity, application_id, std::move(incoming), by, now, false);
}

core::result<new_position> prepare_create(const config::entity& entity,
                                          const std::string& application_id, position incoming,
                                          const actor& by, timestamp now,
                                          const std::set<std::string>& owned) {
  auto prepared = prepare(entity, application_id, std::move(incoming), by, now, owned);
  if (!prepared) return std::unexpected(prepared.error());
  if (!prepared->new_errors.empty()) return std::unexpected(invalid(prepared->new_errors.front()));
  return new_position{&entity, std::move(prepared->p), by, now};
}

core::result<std::optional<upsert_outcome>> create_only(pqxx::dbtransaction& w,
                                                        const config::entity& entity,
                                                        const std::string& application_id,
                                                        position incoming, const actor& by,
                                                        timestamp now) {
  const auto owned = owned_notices(w, entity, application_id, incoming);
  auto prepared = prepare_create(entity, application_id, std::move(incoming), by, now, owned);
  if (!prepared) return std::unexpected(prepared.error());
  // The insert does nothing when the key exists, committed by anyone before this statement or
  // after it waited for them: never a replacement.
  return try_create(w, entity, std::move(prepared->p), by, prepared->now);
}

}  // namespace pagohub::positions
