// The deciding transaction of an import (docs/imports.md "Load"). Every statement works on the
// whole staging table at once (ARCHITECTURE §5: set-based, never a round trip per row). The
// staging rows already carry the ids drawn for them, so creating a million positions is one
// INSERT ... SELECT per table, each a plain scan of the staging table; the joins with the small
// side tables (positions that exist already, rejected positions) are hashed.
#include "load.hpp"

#include <pagohub/db/sql_time.hpp>
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/notice_numbers.hpp>
#include <pagohub/positions/store.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <string>

namespace pagohub::imports::detail {
namespace {

class loader {
 public:
  loader(pqxx::work& w, const load_input& in) : w_(w), in_(in) {}

  load_result run() {
    // Hashes of a million external ids and the report's sort want more than the default 4 MB;
    // this is the server's memory, for this transaction only.
    w_.exec0("SET LOCAL work_mem = '256MB'");
    existing_ = lock_existing();
    lap("lock");
    create_error_table();
    check_duplicates();
    if (existing_ > 0) check_stored_state();
    if (existing_ > 0 && !in_.granted_services.empty()) check_stored_services();
    if (in_.pass.cancels > 0) check_cancels_found();
    check_due_dates();
    if (in_.pass.supplied_notices > 0) check_supplied_notices();
    renumber_if_needed();
    bad_ = collect_bad();
    const std::int64_t bad = bad_;
    lap("checks");

    prepare_replacements();
    load_result out;
    if (bad > 0) {
      out.rows_invalid = exec_count(
          "SELECT count(DISTINCT line) FROM {S} s WHERE s.seq IN (SELECT seq FROM imp_bad)");
    }
    out.rows_valid = in_.pass.rows_read - out.rows_invalid;
    if (bad > 0 && in_.imp.mode == load_mode::all_or_nothing) {
      out.failed = true;
      out.rows_valid = 0;
      out.error = std::to_string(bad) + (bad == 1 ? " position has" : " positions have") +
                  " errors (" + std::to_string(out.rows_invalid) +
                  (out.rows_invalid == 1 ? " row" : " rows") +
                  "): nothing was loaded (all-or-nothing); see the report";
    } else {
      out.created = insert_positions();
      lap("positions");
      out.updated = replace_positions();
      insert_options();
      lap("options");
      insert_transfers();
      lap("transfers");
      insert_events();
      replaced_events();
      lap("events");
      cancel_positions(out);
    }
    write_report(out.failed);
    lap("report");
    finish(out);
    out.timings = std::move(timings_);
    return out;
  }

 private:
  void lap(const char* step) {
    const auto now = std::chrono::steady_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - lap_).count();
    lap_ = now;
    if (!timings_.empty()) timings_ += ", ";
    timings_ += std::string(step) + " " + std::to_string(ms) + "ms";
  }

  template <class... Args>
  pqxx::result exec(const std::string& text, Args&&... args) {
    return w_.exec_params(with_stage(text, in_.stage_table), std::forward<Args>(args)...);
  }

  std::int64_t exec_count(const std::string& text) { return exec(text)[0][0].as<std::int64_t>(); }

  const std::string& fc() const { return in_.imp.entity_fiscal_code; }
  std::int64_t now_us() const { return db::to_micros(in_.now); }
  int aux() const { return in_.entity.aux_digit; }
  int code() const { return positions::notice_space_code(in_.entity); }
  // The first three digits of every notice number in the entity's space: the aux digit and the
  // segregation or application code.
  std::string space_prefix() const {
    return std::to_string(aux()) + (code() < 10 ? "0" : "") + std::to_string(code());
  }
  // The drawn notice number of staging row `s` (docs/positions.md: the formatting function is
  // inlined by the planner). aux and code are the entity's configuration, small integers.
  std::string drawn_notice() const {
    return "pagohub_make_notice(" + std::to_string(aux()) + ", " + std::to_string(code()) +
           ", s.notice_progressive)";
  }
  bool csv() const { return in_.imp.format == file_format::csv; }
  // The path of an option's field in the file's terms: the CSV column, or the REST member.
  std::string option_path(const std::string& member, const std::string& column) const {
    return csv() ? "'/" + column + "'" : "'/paymentOptions/' || s.ordinal || '/" + member + "'";
  }

  // The stored positions the file names, locked for the rest of the transaction (in id order,
  // so that two imports touching the same positions cannot deadlock), with what the checks and
  // the replacement need to know about them.
  std::int64_t lock_existing() {
    const auto r = exec(
        "CREATE TEMP TABLE imp_existing ON COMMIT DROP AS "
        "SELECT s.seq, p.id AS position_id, p.status, p.validity_date, p.service_code, "
        "  false AS any_paid, NULL::text AS in_progress "
        "FROM {S} s JOIN positions p ON p.entity_fiscal_code = $1 "
        "  AND p.application_id = $2 AND p.external_id = s.external_id "
        "WHERE s.ordinal = 0 AND s.external_id IS NOT NULL "
        "ORDER BY p.id FOR UPDATE OF p",
        fc(), in_.imp.application_id);
    const auto n = static_cast<std::int64_t>(r.affected_rows());
    // Read once the locks are held, by a statement of its own (as positions::upsert reads the
    // options after lock_current): the locking statement re-reads only the rows it locks, so
    // an option it read in its snapshot could have been paid by a receipt that committed
    // while it waited, and a replacement would then delete that payment.
    if (n > 0)
      exec(
          "UPDATE imp_existing x SET any_paid = EXISTS (SELECT 1 FROM payment_options o "
          "  WHERE o.entity_fiscal_code = $1 AND o.position_id = x.position_id "
          "    AND o.status <> 'UNPAID')",
          fc());
    // A 2018-model payment in progress holds its position (sql/0030, positions::replace and
    // cancel): read under the same locks, which the activation takes too.
    if (n > 0)
      exec("UPDATE imp_existing x SET in_progress = " +
               positions::payment_in_progress_sql("$1", "x.position_id", db::ts_param(2)),
           fc(), now_us());
    w_.exec0("ANALYZE imp_existing");
    return n;
  }

  void create_error_table() {
    w_.exec0(
        "CREATE TEMP TABLE imp_err (seq integer NOT NULL, ordinal smallint NOT NULL, "
        "path text, code text, message text) ON COMMIT DROP");
  }

  // An external id names one position: its rows must be consecutive. The same id in two places
  // is ambiguous (which one wins?), so every occurrence is refused.
  void check_duplicates() {
    exec(
        "WITH d AS (SELECT external_id FROM {S} WHERE ordinal = 0 AND external_id <> '' "
        "           GROUP BY external_id HAVING count(*) > 1) "
        "INSERT INTO imp_err "
        "SELECT s.seq, 0, '/externalId', 'duplicate', "
        "  'external id ' || s.external_id || ' appears more than once in the file (first at "
        "line ' || min(s.line) OVER (PARTITION BY s.external_id) || '); the rows of a position "
        "must be consecutive' "
        "FROM {S} s JOIN d USING (external_id) WHERE s.ordinal = 0");
  }

  // positions::upsert and cancel refuse these; the import does the same, set-based.
  void check_stored_state() {
    exec(
        "INSERT INTO imp_err "
        "SELECT s.seq, 0, '/externalId', 'conflict', "
        "  CASE WHEN s.op = 'CANCEL' AND e.status IN ('PAID', 'PARTIALLY_PAID', 'EXPIRED') "
        "         THEN 'the position is ' || e.status || ' and cannot be cancelled' "
        "       WHEN s.op = 'CANCEL' THEN e.in_progress "
        "       WHEN e.status = 'CANCELLED' THEN 'the position is cancelled and cannot change' "
        "       WHEN e.status IN ('PAID', 'PARTIALLY_PAID') OR e.any_paid "
        "         THEN 'the position has paid options and cannot change any more' "
        "       ELSE e.in_progress END "
        "FROM {S} s JOIN imp_existing e USING (seq) "
        "WHERE s.ordinal = 0 AND s.errors IS NULL AND ("
        "  (s.op = 'UPSERT' AND (e.status IN ('CANCELLED', 'PAID', 'PARTIALLY_PAID') "
        "                        OR e.any_paid OR e.in_progress IS NOT NULL)) "
        "  OR (s.op = 'CANCEL' AND e.status IN ('PAID', 'PARTIALLY_PAID', 'EXPIRED')) "
        "  OR (s.op = 'CANCEL' AND e.status <> 'CANCELLED' AND e.in_progress IS NOT NULL))");
  }

  // The REST API refuses to replace or cancel a position of a service the application is not
  // granted (any more); so does the import, whatever service the file's row names.
  void check_stored_services() {
    std::string granted = "{";
    for (std::size_t i = 0; i < in_.granted_services.size(); ++i) {
      if (i > 0) granted += ',';
      granted += '"';
      for (const char c : in_.granted_services[i]) {
        if (c == '"' || c == '\\') granted += '\\';
        granted += c;
      }
      granted += '"';
    }
    granted += '}';
    exec(
        "INSERT INTO imp_err "
        "SELECT s.seq, 0, '/externalId', 'forbidden', "
        "  'the stored position ' || s.external_id || ' belongs to service ' || e.service_code "
        "  || ', which is not granted to application ' || $1::text "
        "FROM {S} s JOIN imp_existing e USING (seq) "
        "WHERE s.ordinal = 0 AND s.errors IS NULL AND e.service_code <> ALL ($2::text[])",
        in_.imp.application_id, granted);
  }

  void check_cancels_found() {
    exec(
        "INSERT INTO imp_err "
        "SELECT s.seq, 0, '/externalId', 'not_found', "
        "  'there is no position with external id ' || s.external_id || ' to cancel' "
        "FROM {S} s WHERE s.ordinal = 0 AND s.op = 'CANCEL' AND s.errors IS NULL "
        "  AND " +
        is_new());
  }

  // Issue 3: a new position may not be due in the past (an existing one may keep its dates).
  void check_due_dates() {
    const std::string today = positions::format_date(in_.today);
    exec(
        "INSERT INTO imp_err "
        "SELECT s.seq, s.ordinal, " +
            option_path("dueDate", "dueDate") +
            ", 'in_past', "
            "  to_char(s.due_date, 'YYYY-MM-DD') || ' is before today (' || $1 || ', "
            "Europe/Rome)' "
            "FROM {S} s WHERE s.op = 'UPSERT' AND s.errors IS NULL AND s.due_date < $1::date "
            "  AND " +
            is_new(),
        today);
  }

  // Notice numbers the file supplies: the application's, unique in the file, and not another
  // position's.
  void check_supplied_notices() {
    const std::string path = option_path("noticeNumber", "noticeNumber");
    // A number outside the entity's notice space is the application's only when it issued it
    // before the space changed (positions::owned_notices): the position it replaces has it, or
    // notice_owners records the application as its owner. The pass let such numbers through.
    exec(
        "INSERT INTO imp_err "
        "SELECT s.seq, s.ordinal, " +
            path +
            ", 'not_owned', 'is not in the notice space of entity ' || $1 || ' (' || $3 || ')' "
            "FROM {S} s LEFT JOIN imp_existing e USING (seq) "
            "WHERE s.notice_number IS NOT NULL AND s.errors IS NULL "
            "  AND left(s.notice_number, 3) <> $2 "
            "  AND NOT EXISTS (SELECT 1 FROM payment_options o WHERE o.entity_fiscal_code = $1 "
            "                    AND o.position_id = e.position_id "
            "                    AND o.notice_number = s.notice_number) "
            "  AND NOT EXISTS (SELECT 1 FROM notice_owners r WHERE r.entity_fiscal_code = $1 "
            "                    AND r.iuv = pagohub_notice_iuv(s.notice_number) "
            "                    AND r.application_id = $4)",
        fc(), space_prefix(), positions::notice_space_description(in_.entity),
        in_.imp.application_id);
    exec(
        "INSERT INTO imp_err "
        "SELECT s.seq, s.ordinal, " +
        path +
        ", 'duplicate', 'notice number ' || s.notice_number || ' appears more than once in "
        "the file' "
        "FROM {S} s JOIN (SELECT notice_number FROM {S} WHERE notice_number IS NOT NULL "
        "  AND errors IS NULL GROUP BY notice_number HAVING count(DISTINCT seq) > 1) d "
        "  USING (notice_number) "
        "WHERE s.errors IS NULL");
    exec(
        "INSERT INTO imp_err "
        "SELECT s.seq, s.ordinal, " +
            path +
            ", 'conflict', 'notice number ' || s.notice_number || $2 "
            "FROM {S} s LEFT JOIN imp_existing e USING (seq) "
            "JOIN payment_options o ON o.entity_fiscal_code = $1 "
            "  AND o.notice_number = s.notice_number "
            "WHERE s.notice_number IS NOT NULL AND s.errors IS NULL "
            "  AND o.position_id IS DISTINCT FROM e.position_id",
        fc(), std::string(positions::notice_in_use));
    // A number whose option another application dropped names that application's debt for good
    // (sql/0031, and positions::notice_taken for the single writes).
    exec(
        "INSERT INTO imp_err "
        "SELECT s.seq, s.ordinal, " +
            path +
            ", 'conflict', 'notice number ' || s.notice_number || $3 "
            "FROM {S} s JOIN notice_owners r ON r.entity_fiscal_code = $1 "
            "  AND r.iuv = pagohub_notice_iuv(s.notice_number) "
            "WHERE s.notice_number IS NOT NULL AND s.errors IS NULL AND r.application_id <> $2",
        fc(), in_.imp.application_id, std::string(positions::notice_retired));
  }

  // Drawn progressives can meet a notice number the entity supplied itself, here or earlier,
  // only when such a number lies ahead of the sequence (docs/positions.md "Why uniqueness
  // holds"). That is rare and cheap to rule out: the largest stored or dropped number of the
  // entity's space and the largest supplied in the file are compared with the smallest drawn. When
  // it cannot be ruled out, the drawn numbers that collide are drawn again.
  void renumber_if_needed() {
    const std::int64_t lowest = in_.pass.min_drawn_progressive;
    if (lowest <= 0) return;
    const std::string prefix = space_prefix();
    // The numbers whose options were dropped count too (sql/0031): they are never drawn again.
    // Their IUV: aux 3 keeps the segregation code in front, aux 0 drops the application code.
    const std::string iuv_prefix = aux() == 3 ? prefix.substr(1) : "";
    const auto r = exec(
        "SELECT (SELECT max(notice_number) FROM payment_options WHERE entity_fiscal_code = $1 "
        "        AND notice_number >= $2 AND notice_number < $3), "
        "       (SELECT max(iuv) FROM notice_owners WHERE entity_fiscal_code = $1 "
        "        AND iuv >= $4 AND iuv < $5 AND length(iuv) = $6)",
        fc(), prefix, prefix + "~", iuv_prefix, iuv_prefix + "~",
        static_cast<int>(iuv_prefix.size()) + 15);
    std::int64_t stored = 0;
    if (!r[0][0].is_null()) {
      const std::string top = r[0][0].as<std::string>();
      if (top.size() == 18) stored = std::stoll(top.substr(3, 13));
    }
    if (!r[0][1].is_null()) {
      const std::string top = r[0][1].as<std::string>();
      stored = std::max(stored,
                        static_cast<std::int64_t>(std::stoll(top.substr(iuv_prefix.size(), 13))));
    }
    if (stored < lowest && in_.pass.max_supplied_progressive < lowest) return;
    const std::string seq =
        exec("SELECT pagohub_notice_sequence($1)::text", fc())[0][0].as<std::string>();
    for (int round = 0; round < 8; ++round) {
      const auto u = exec(
          "UPDATE {S} s SET notice_progressive = nextval($2::regclass) "
          "WHERE s.notice_progressive IS NOT NULL AND s.errors IS NULL AND ("
          "  EXISTS (SELECT 1 FROM payment_options o WHERE o.entity_fiscal_code = $1 "
          "          AND o.notice_number = " +
              drawn_notice() +
              ") "
              "  OR EXISTS (SELECT 1 FROM notice_owners r WHERE r.entity_fiscal_code = $1 "
              "          AND r.iuv = pagohub_notice_iuv(" +
              drawn_notice() +
              ")) "
              "  OR " +
              drawn_notice() +
              " IN "
              "     (SELECT notice_number FROM {S} WHERE notice_number IS NOT NULL))",
          fc(), seq);
      if (u.affected_rows() == 0) return;
    }
    throw std::runtime_error("could not draw notice numbers that the entity does not use");
  }

  std::int64_t collect_bad() {
    std::string q =
        "CREATE TEMP TABLE imp_bad ON COMMIT DROP AS SELECT DISTINCT seq FROM (SELECT seq FROM "
        "imp_err";
    if (in_.pass.invalid_positions > 0)
      q += " UNION ALL SELECT seq FROM {S} WHERE errors IS NOT NULL";
    q += ") x";
    const auto n = static_cast<std::int64_t>(exec(q).affected_rows());
    w_.exec0("ANALYZE imp_bad");
    errors_ = exec_count("SELECT count(*) FROM imp_err");
    return n;
  }

  // The rows that are loaded: no error of their own nor on another row of their position. The
  // side tables are usually empty; then they are left out of the statements altogether (an
  // anti-join with an empty table still costs a probe per row, and the planner, seeing zero
  // rows, picks a nested loop for it). NOT IN over a subquery becomes a hashed subplan,
  // whatever the estimates.
  std::string valid() const {
    return bad_ > 0 ? "s.errors IS NULL AND s.seq NOT IN (SELECT seq FROM imp_bad)"
                    : "s.errors IS NULL";
  }
  // The rows of positions that do not exist yet.
  std::string is_new() const {
    return existing_ > 0 ? "s.seq NOT IN (SELECT seq FROM imp_existing)" : "TRUE";
  }

  // The notice numbers of replaced positions' options: the one the file supplies, else the
  // stored option's of the same kind and instalment (unless the file gives that number to
  // another option of the position), else the drawn one (positions::upsert does the same).
  void prepare_replacements() {
    if (existing_ == 0) {
      w_.exec0(
          "CREATE TEMP TABLE imp_notice (seq integer, ordinal smallint, notice text) "
          "ON COMMIT DROP");
      return;
    }
    exec(std::string("CREATE TEMP TABLE imp_notice ON COMMIT DROP AS "
                     "WITH sup AS MATERIALIZED (SELECT seq, notice_number FROM {S} "
                     "                          WHERE notice_number IS NOT NULL), "
                     "old AS (SELECT e.seq, o.kind, o.instalment, o.notice_number "
                     "        FROM imp_existing e JOIN payment_options o "
                     "          ON o.entity_fiscal_code = $1 AND o.position_id = e.position_id "
                     "        WHERE NOT EXISTS (SELECT 1 FROM sup WHERE sup.seq = e.seq "
                     "                          AND sup.notice_number = o.notice_number)) "
                     "SELECT s.seq, s.ordinal, coalesce(s.notice_number, old.notice_number, ") +
             drawn_notice() +
             ") AS notice "
             "FROM {S} s JOIN imp_existing e USING (seq) "
             "LEFT JOIN old ON old.seq = s.seq AND old.kind = s.kind "
             "  AND old.instalment = s.instalment "
             "WHERE s.op = 'UPSERT' AND " +
             valid(),
         fc());
    w_.exec0("ANALYZE imp_notice");
  }

  std::int64_t insert_positions() {
    const auto r = exec(
        std::string(
            "INSERT INTO positions (id, entity_fiscal_code, application_id, external_id, status, "
            "  debtor_type, debtor_fiscal_code, debtor_full_name, debtor_street_name, "
            "  debtor_civic_number, debtor_postal_code, debtor_city, "
            "  debtor_state_province_region, debtor_country, debtor_email, debtor_phone, "
            "  description, service_code, reference_year, validity_date, due_date, metadata, "
            "  created_at, updated_at) OVERRIDING SYSTEM VALUE "
            "SELECT s.position_id, $1::text, $2::text, s.external_id, 'DRAFT', s.debtor_type, "
            "  s.debtor_fiscal_code, s.debtor_full_name, s.debtor_street_name, "
            "  s.debtor_civic_number, s.debtor_postal_code, s.debtor_city, "
            "  s.debtor_state_province_region, s.debtor_country, s.debtor_email, s.debtor_phone, "
            "  s.description, s.service_code, s.reference_year, s.validity_date, "
            "  s.position_due_date, coalesce(s.metadata, '[]'::jsonb), " +
            db::ts_param(3) + ", " + db::ts_param(3) +
            " FROM {S} s WHERE s.ordinal = 0 AND s.op = 'UPSERT' AND " + valid() + "  AND " +
            is_new()),
        fc(), in_.imp.application_id, now_us());
    return static_cast<std::int64_t>(r.affected_rows());
  }

  // Replacements (positions::upsert's rules, status_after_replace): a DRAFT stays DRAFT, an
  // EXPIRED one stays EXPIRED unless its due date moves to today or later, and the rest is
  // judged again against its new validity date; the options go and come back (nothing is
  // paid: checked above), keeping their notice numbers.
  std::int64_t replace_positions() {
    if (existing_ == 0) return 0;
    w_.exec0(
        "CREATE TEMP TABLE imp_replaced (id bigint, status text, from_status text) "
        "ON COMMIT DROP");
    const auto r = exec(
        std::string(
            "WITH u AS ("
            "  UPDATE positions p SET "
            "    status = CASE WHEN e.status = 'DRAFT' THEN 'DRAFT' "
            "                  WHEN e.status = 'EXPIRED' AND s.position_due_date < (" +
            db::ts_param(2) +
            " AT TIME ZONE 'Europe/Rome')::date THEN 'EXPIRED' "
            "                  WHEN s.validity_date > " +
            db::ts_param(2) +
            " THEN 'PUBLISHED' ELSE 'VALID' END, "
            "    debtor_type = s.debtor_type, debtor_fiscal_code = s.debtor_fiscal_code, "
            "    debtor_full_name = s.debtor_full_name, debtor_street_name = s.debtor_street_name, "
            "    debtor_civic_number = s.debtor_civic_number, "
            "    debtor_postal_code = s.debtor_postal_code, debtor_city = s.debtor_city, "
            "    debtor_state_province_region = s.debtor_state_province_region, "
            "    debtor_country = s.debtor_country, debtor_email = s.debtor_email, "
            "    debtor_phone = s.debtor_phone, description = s.description, "
            "    service_code = s.service_code, reference_year = s.reference_year, "
            "    validity_date = s.validity_date, due_date = s.position_due_date, "
            "    metadata = coalesce(s.metadata, '[]'::jsonb), updated_at = " +
            db::ts_param(2) +
            ", version = p.version + 1 "
            "  FROM {S} s JOIN imp_existing e USING (seq) "
            "  WHERE p.entity_fiscal_code = $1 AND p.id = e.position_id AND s.ordinal = 0 "
            "    AND s.op = 'UPSERT' AND " +
            valid() +
            "  RETURNING p.id, p.status, e.status AS from_status), "
            "d AS (DELETE FROM payment_options o USING u "
            "      WHERE o.entity_fiscal_code = $1 AND o.position_id = u.id) "
            "INSERT INTO imp_replaced SELECT id, status, from_status FROM u"),
        fc(), now_us());
    return static_cast<std::int64_t>(r.affected_rows());
  }

  // The REPLACED events, once the new options are in: the journal's trigger (sql/0016) records
  // a change of a position once per option, with its notice number, so that every notice's
  // timeline shows it; written with the deletion, they found no option to name.
  void replaced_events() {
    if (existing_ == 0) return;
    exec(std::string("INSERT INTO position_events (entity_fiscal_code, position_id, event, "
                     "  from_status, to_status, at, actor_kind, actor_id, request_id) "
                     "SELECT $1::text, u.id, 'REPLACED', u.from_status, u.status, ") +
             db::ts_param(3) +
             ", i.actor_kind, i.actor_id, i.request_id FROM imp_replaced u, imports i "
             "WHERE i.entity_fiscal_code = $1 AND i.id = $2 ORDER BY u.id",
         fc(), in_.imp.id, now_us());
  }

  // The final notice number of staging row `s`, and the joins it needs: only replacements
  // have kept numbers (imp_notice); otherwise the supplied or the drawn one.
  std::string final_notice() const {
    return existing_ > 0 ? "coalesce(r.notice, s.notice_number, " + drawn_notice() + ")"
                         : "coalesce(s.notice_number, " + drawn_notice() + ")";
  }
  std::string existing_joins() const {
    return existing_ > 0 ? " LEFT JOIN imp_existing e USING (seq) "
                           "LEFT JOIN imp_notice r ON r.seq = s.seq AND r.ordinal = s.ordinal "
                         : " ";
  }

  void insert_options() {
    exec(
        "INSERT INTO payment_options (id, entity_fiscal_code, position_id, ordinal, kind, "
        "  instalment, notice_number, iuv, amount, due_date, description) "
        "OVERRIDING SYSTEM VALUE "
        "SELECT s.option_id, $1::text, " +
            std::string(existing_ > 0 ? "coalesce(e.position_id, s.position_id)"
                                      : "s.position_id") +
            ", s.ordinal, s.kind, s.instalment, x.n, pagohub_notice_iuv(x.n), s.amount, "
            "  s.due_date, s.option_description "
            "FROM {S} s" +
            existing_joins() + ", LATERAL (SELECT " + final_notice() +
            " AS n) x "
            "WHERE s.op = 'UPSERT' AND " +
            valid(),
        fc());
  }

  void insert_transfers() {
    std::string q =
        std::string(
            "INSERT INTO transfers (entity_fiscal_code, option_id, transfer_index, "
            "  beneficiary_fiscal_code, amount, iban, postal_iban, "
            "  stamp_document_hash, stamp_type, stamp_province, "
            "  remittance_information, taxonomy) "
            "SELECT $1::text, s.option_id, s.t_index, s.t_beneficiary, s.t_amount, s.t_iban, "
            "  s.t_postal_iban, s.t_stamp_hash, s.t_stamp_type, s.t_stamp_province, "
            "  s.t_remittance, s.t_taxonomy "
            "FROM {S} s WHERE s.op = 'UPSERT' AND ") +
        valid();
    if (in_.pass.extra) {
      q += std::string(
               " UNION ALL "
               "SELECT $1::text, s.option_id, x.transfer_index, x.beneficiary_fiscal_code, "
               "x.amount, "
               "  x.iban, x.postal_iban, x.stamp_document_hash, x.stamp_type, x.stamp_province, "
               "  x.remittance_information, x.taxonomy "
               "FROM {S} s, jsonb_to_recordset(s.extra -> 'transfers') AS x(transfer_index "
               "  smallint, beneficiary_fiscal_code text, amount bigint, iban text, "
               "  postal_iban text, stamp_document_hash text, stamp_type text, "
               "  stamp_province text, remittance_information text, taxonomy text) "
               "WHERE s.extra IS NOT NULL AND s.op = 'UPSERT' AND ") +
           valid();
    }
    exec(q, fc());
    if (!in_.pass.extra) return;
    exec(std::string(
             "INSERT INTO accounting_entries (entity_fiscal_code, option_id, transfer_index, "
             "  ordinal, chapter, article, year, assessment, amount) "
             "SELECT $1::text, s.option_id, x.transfer_index, x.ordinal, x.chapter, x.article, "
             "x.year, "
             "  x.assessment, x.amount "
             "FROM {S} s, jsonb_to_recordset(s.extra -> 'accounting') AS x(transfer_index "
             "  smallint, ordinal smallint, chapter text, article text, year integer, "
             "  assessment text, amount bigint) "
             "WHERE s.extra IS NOT NULL AND s.op = 'UPSERT' AND ") +
             valid(),
         fc());
  }

  // One CREATED event per new position (issue 3: every transition is journaled), in the same
  // transaction as the position.
  void insert_events() {
    exec(std::string(
             "INSERT INTO position_events (entity_fiscal_code, position_id, event, from_status, "
             "  to_status, at, actor_kind, actor_id, request_id) "
             "SELECT $1::text, s.position_id, 'CREATED', NULL, 'DRAFT', " +
             db::ts_param(3) +
             ", i.actor_kind, i.actor_id, i.request_id "
             "FROM {S} s, imports i "
             "WHERE i.entity_fiscal_code = $1 AND i.id = $2 "
             "  AND s.ordinal = 0 AND s.op = 'UPSERT' AND ") +
             valid() + " AND " + is_new(),
         fc(), in_.imp.id, now_us());
  }

  // DRAFT, PUBLISHED or VALID -> CANCELLED (positions::cancel); cancelling a CANCELLED position
  // changes nothing.
  void cancel_positions(load_result& out) {
    if (in_.pass.cancels == 0 || existing_ == 0) return;
    const auto r = exec(
        std::string("WITH c AS ("
                    "  UPDATE positions p SET status = 'CANCELLED', updated_at = " +
                    db::ts_param(3) +
                    ", version = p.version + 1 "
                    "  FROM {S} s JOIN imp_existing e USING (seq) "
                    "  WHERE p.entity_fiscal_code = $1 AND p.id = e.position_id "
                    "    AND s.ordinal = 0 AND s.op = 'CANCEL' "
                    "    AND e.status IN ('DRAFT', 'PUBLISHED', 'VALID') AND ") +
            valid() +
            "  RETURNING p.id, e.status AS from_status) "
            "INSERT INTO position_events (entity_fiscal_code, position_id, event, from_status, "
            "  to_status, at, actor_kind, actor_id, request_id) "
            "SELECT $1::text, c.id, 'CANCELLED', c.from_status, 'CANCELLED', " +
            db::ts_param(3) +
            ", i.actor_kind, i.actor_id, i.request_id FROM c, imports i "
            "WHERE i.entity_fiscal_code = $1 AND i.id = $2",
        fc(), in_.imp.id, now_us());
    out.cancelled = static_cast<std::int64_t>(r.affected_rows());
    out.unchanged =
        exec_count(std::string("SELECT count(*) FROM {S} s JOIN imp_existing e USING (seq) "
                               "WHERE s.ordinal = 0 AND s.op = 'CANCEL' "
                               "  AND e.status = 'CANCELLED' AND ") +
                   valid());
  }

  void write_report(bool failed) {
    detail::write_report(
        w_, in_, {failed, bad_ > 0, existing_ > 0, errors_ > 0, final_notice(), existing_joins()});
  }

  void finish(const load_result& out) {
    exec(
        "UPDATE imports SET state = $3, rows_valid = $4, rows_invalid = $5, "
        "positions_created = $6, positions_updated = $7, positions_cancelled = $8, "
        "positions_unchanged = $9, error = $10, progress = 100, finished_at = " +
            db::ts_param(11) + " WHERE entity_fiscal_code = $1 AND id = $2",
        fc(), in_.imp.id, std::string(out.failed ? "failed" : "done"), out.rows_valid,
        out.rows_invalid, out.created, out.updated, out.cancelled, out.unchanged, out.error,
        db::to_micros(in_.clock.now()));
    journal_end(w_, in_.imp, out.failed,
                "rows_valid=" + std::to_string(out.rows_valid) + " rows_invalid=" +
                    std::to_string(out.rows_invalid) + " created=" + std::to_string(out.created) +
                    " updated=" + std::to_string(out.updated) + " cancelled=" +
                    std::to_string(out.cancelled) + " unchanged=" + std::to_string(out.unchanged),
                out.error, in_.clock.now());
  }

  pqxx::work& w_;
  const load_input& in_;
  std::int64_t existing_ = 0;
  std::int64_t bad_ = 0;
  std::int64_t errors_ = 0;  // rows of imp_err
  std::chrono::steady_clock::time_point lap_ = std::chrono::steady_clock::now();
  std::string timings_;
};

}  // namespace

std::string with_stage(std::string text, const std::string& stage_table) {
  for (std::size_t p = text.find("{S}"); p != std::string::npos; p = text.find("{S}", p)) {
    text.replace(p, 3, stage_table);
  }
  return text;
}

load_result decide_and_load(pqxx::work& w, const load_input& in) {
  loader l(w, in);
  return l.run();
}

}  // namespace pagohub::imports::detail
