// Receipts: applied and stored in one transaction, idempotent on (entity, receiptId), never
// refused; what does not fit is flagged (DIGEST §1.3).
#include <pagohub/journal/record.hpp>
#include <pagohub/pap/receipts.hpp>

#include "pg/positions/positions_fixture.hpp"
#include "receipt_processing.hpp"

namespace pagohub::pap {
namespace {

using positions::testing::own_entity;
using positions::testing::own_fc;
using positions::testing::single_position;
using positions::testing::test_now;

class receipts_pg : public positions::testing::positions_pg {
 protected:
  // `p` stored and published; returns it as stored.
  positions::position published(const positions::position& p) {
    const auto stored = store(p).stored;
    tx([&](pqxx::work& w) {
      return positions::publish(w, own_fc, "tari-bo", p.external_id,
                                positions::testing::app_actor(), test_now());
    });
    return stored;
  }

  // A published position; returns its single option's notice number.
  std::string payable(long long cents = 12000) {
    auto p = single_position("pos-" + std::to_string(++made_));
    p.options[0].amount = cents;
    p.options[0].transfers.resize(1);
    p.options[0].transfers[0].amount = cents;
    return published(p).options[0].notice_number;
  }

  receipt_record record(const std::string& receipt_id, const std::string& notice,
                        long long cents = 12000) {
    receipt_record r;
    r.entity_fc = own_fc;
    r.receipt_id = receipt_id;
    r.received_at = test_now();
    r.request_id = "req-1";
    r.raw_message = "<soap>" + receipt_id + "</soap>";
    r.notice_number = notice;
    r.iuv = notice.substr(1);
    r.primary_fiscal_code = own_fc;
    r.outcome = "OK";
    r.amount = cents;
    r.psp_id = "BCITITMM";
    return r;
  }

  receipt_facts facts(const receipt_record& r) {
    receipt_facts f;
    f.entity_fc = r.entity_fc;
    f.primary_fc = r.entity_fc;
    f.notice_number = r.notice_number.value_or("");
    f.receipt_id = r.receipt_id;
    f.amount = r.amount.value_or(0);
    f.paid_at = test_now();
    return f;
  }

  receipt_outcome deliver(const receipt_record& r) {
    return tx([&](pqxx::work& w) {
      return store_and_apply(w, r, facts(r), journal::payload_rules::defaults(), test_now());
    });
  }

  int made_ = 0;
};

TEST_F(receipts_pg, a_receipt_is_applied_once_and_a_redelivery_changes_nothing) {
  const auto notice = payable();
  const auto r = record("token-1", notice);
  const auto first = deliver(r);
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(first.applied);
  EXPECT_FALSE(first.flagged);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID' AND receipt_id = "
                  "'token-1'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'token-1'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'receiptApplied'"), 1);
  const auto events = count("SELECT count(*) FROM position_events");

  const auto again = deliver(r);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.conflict, "");
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), events);

  auto stored = tx([&](pqxx::work& w) { return find_receipt(w, own_fc, "token-1"); });
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->applied);
  EXPECT_EQ(stored->amount, 12000);
  EXPECT_EQ(stored->psp_id, "BCITITMM");
}

// A re-delivery that says otherwise under the same receiptId changes nothing either (the first
// receipt stands), but the operators hear of it: an INTERNO receiptConflict event naming the
// fields that differ.
TEST_F(receipts_pg, a_redelivery_with_other_content_is_recorded_as_a_conflict) {
  const auto notice = payable();
  auto r = record("token-c", notice);
  ASSERT_TRUE(deliver(r).applied);
  r.amount = 13000;
  r.psp_id = "UNCRITMM";
  const auto other = deliver(r);
  EXPECT_TRUE(other.duplicate);
  EXPECT_EQ(other.conflict, "amount 12000 -> 13000; idPSP BCITITMM -> UNCRITMM");
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE amount = 12000"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'receiptConflict' "
                  "AND outcome = 'ANOMALY' AND notice_number = '" +
                  notice + "' AND interface_params LIKE '%amount 12000 -> 13000%'"),
            1);
}

TEST_F(receipts_pg, the_outbox_row_carries_the_position_and_its_application) {
  const auto notice = payable();
  // Without the routing trigger, which would otherwise look both up again.
  tx([](pqxx::work& w) { w.exec0("ALTER TABLE outbox DISABLE TRIGGER outbox_fill_route"); });
  deliver(record("token-9", notice));
  tx([](pqxx::work& w) { w.exec0("ALTER TABLE outbox ENABLE TRIGGER outbox_fill_route"); });
  EXPECT_EQ(count("SELECT count(*) FROM outbox o JOIN positions p ON p.entity_fiscal_code = "
                  "o.entity_fiscal_code AND p.id = o.position_id "
                  "WHERE o.key = 'token-9' AND o.application_id = 'tari-bo'"),
            1);
}

TEST_F(receipts_pg, a_redelivery_that_would_now_apply_still_changes_nothing) {
  // The first delivery found no position and was stored as UNKNOWN_POSITION; the position has
  // been loaded since. Applying the re-delivery would pay its option: the stored key sends it
  // back to the savepoint, and the option stays unpaid.
  const auto notice = payable();
  const auto r = record("token-early", notice);
  ASSERT_TRUE(tx([&](pqxx::work& w) {
    return insert_receipt(w, r,
                          {std::nullopt, false, anomaly::unknown_position, "no debt position"});
  }));
  const auto events = count("SELECT count(*) FROM position_events");
  const auto again = deliver(r);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'UNPAID'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM position_events"), events);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE anomaly = 'UNKNOWN_POSITION'"), 1);
}

TEST_F(receipts_pg, a_second_receipt_for_the_notice_is_an_anomaly) {
  const auto notice = payable();
  deliver(record("token-1", notice));
  const auto second = deliver(record("token-2", notice));
  EXPECT_FALSE(second.duplicate);
  EXPECT_FALSE(second.applied);
  EXPECT_EQ(second.flagged, anomaly::already_paid);
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 2);
  const auto anomalies = tx([&](pqxx::work& w) { return list_anomalies(w, own_fc); });
  ASSERT_EQ(anomalies.size(), 1u);
  EXPECT_EQ(anomalies[0].receipt_id, "token-2");
}

TEST_F(receipts_pg, a_receipt_that_waited_on_its_position_is_judged_as_it_found_it) {
  // Receipts for an instalment and for the single option of one plan arrive together (the Nodo
  // does not lock, DIGEST §1.2). A applies the instalment and has not committed; B's receipt
  // for the single option waits for A. Once A commits, B must see the position partly paid and
  // keep its receipt apart (the citizen paid twice), not apply it on what it read before.
  const auto stored = published(positions::testing::plan_position("plan-race"));
  const auto instalment = record("token-instalment", stored.options[1].notice_number, 10000);
  const auto single = record("token-single", stored.options[0].notice_number, 30000);

  pqxx::connection ca(conninfo());
  pqxx::work wa(ca);
  ASSERT_TRUE(store_and_apply(wa, instalment, facts(instalment), journal::payload_rules::defaults(),
                              test_now())
                  .applied);
  const auto b = behind(wa, [&](pqxx::work& wb) {
    return store_and_apply(wb, single, facts(single), journal::payload_rules::defaults(),
                           test_now());
  });
  ASSERT_EQ(b.exception, "");
  ASSERT_TRUE(b.value);
  EXPECT_FALSE(b.value->applied);
  EXPECT_EQ(b.value->flagged, anomaly::already_paid);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM positions WHERE status = 'PARTIALLY_PAID'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE anomaly = 'ALREADY_PAID' "
                  "AND receipt_id = 'token-single' AND NOT applied"),
            1);
}

TEST_F(receipts_pg, a_receipt_for_a_locked_position_is_stored_held_and_applied_later) {
  // Another transaction holds the position for long, as a bulk import replacing it does. The
  // receipt must not wait for it past the Nodo's patience, nor fail unstored: it is stored
  // held, answered, and applied by the job once the position is free.
  const auto notice = payable();
  pqxx::connection ca(conninfo());
  pqxx::work wa(ca);
  wa.exec_params("SELECT 1 FROM positions WHERE entity_fiscal_code = $1 FOR UPDATE",
                 std::string(own_fc));
  const auto r = record("token-held", notice);
  const auto held = deliver(r);
  EXPECT_FALSE(held.duplicate);
  EXPECT_FALSE(held.applied);
  EXPECT_EQ(held.flagged, anomaly::position_busy);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE anomaly = 'POSITION_BUSY' AND NOT applied"),
            1);
  // The back-office hears of it once, when it is applied.
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 0);

  const auto run = [&] {
    return tx([&](pqxx::work& w) {
      return apply_held_receipts(w, journal::payload_rules::defaults(), test_now(), 10);
    });
  };
  EXPECT_EQ(run().still_held, 1);
  const auto feed_place = [&] {
    return count("SELECT (feed_xid::text)::bigint FROM receipts WHERE receipt_id = 'token-held'");
  };
  const auto stored_at = feed_place();
  wa.commit();
  const auto done = run();
  // The pull feed left it out while held: it takes a place after every cursor handed out since.
  EXPECT_GT(feed_place(), stored_at);
  EXPECT_EQ(done.applied, 1);
  EXPECT_EQ(done.still_held, 0);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID' AND receipt_id = "
                  "'token-held'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE applied AND anomaly IS NULL "
                  "AND position_id IS NOT NULL"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'token-held' "
                  "AND payload->>'applied' = 'true' AND position_id IS NOT NULL"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM journal_events WHERE event_type = 'receiptApplied'"), 1);
  EXPECT_EQ(run().applied, 0);
  EXPECT_TRUE(deliver(r).duplicate);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 1);
}

TEST_F(receipts_pg, held_receipts_of_one_busy_position_do_not_hold_up_the_others) {
  // Three instalments of a plan a long transaction holds, then a receipt of another position
  // that was busy when it came and is free now: one run must apply the last one.
  const auto plan = published(positions::testing::plan_position("PLAN-BUSY"));
  const auto other = payable();
  pqxx::connection ca(conninfo());
  pqxx::work wa(ca);
  wa.exec_params("SELECT 1 FROM positions WHERE entity_fiscal_code = $1 AND id = $2 FOR UPDATE",
                 std::string(own_fc), plan.id);
  for (int i = 1; i <= 3; ++i) {
    auto r = record("plan-" + std::to_string(i),
                    plan.options[static_cast<std::size_t>(i)].notice_number, 10000);
    EXPECT_EQ(deliver(r).flagged, anomaly::position_busy);
  }
  {
    pqxx::connection cb(conninfo());
    pqxx::work wb(cb);
    wb.exec_params(
        "SELECT 1 FROM positions p JOIN payment_options o ON o.position_id = p.id "
        "WHERE o.notice_number = $1 FOR UPDATE OF p",
        other);
    EXPECT_EQ(deliver(record("other-1", other)).flagged, anomaly::position_busy);
  }
  const auto done = tx([&](pqxx::work& w) {
    return apply_held_receipts(w, journal::payload_rules::defaults(), test_now(), 10);
  });
  EXPECT_EQ(done.applied, 1);
  EXPECT_EQ(done.still_held, 1);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE receipt_id = 'other-1' AND applied"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE anomaly = 'POSITION_BUSY'"), 3);
  wa.abort();
}

// A held RT is judged as paaInviaRT judges one (old_model.cpp): by its total, paying its option
// under its CCP. Its single payments are stored to be shown, and need not match the option's
// transfers one by one.
TEST_F(receipts_pg, a_held_rt_is_judged_as_its_delivery_judges_one) {
  const auto notice = payable();
  pqxx::connection ca(conninfo());
  pqxx::work wa(ca);
  wa.exec_params("SELECT 1 FROM positions WHERE entity_fiscal_code = $1 FOR UPDATE",
                 std::string(own_fc));
  auto rt = record(notice.substr(1) + "-ccp-held", notice);
  rt.source = receipt_source::paa_invia_rt;
  rt.ccp = "ccp-held";
  const std::string fc(own_fc);
  rt.details_json = R"({"codiceEsitoPagamento":"0","transfers":[)"
                    R"({"idTransfer":1,"fiscalCodePA":")" +
                    fc + R"(","amount":6000},{"idTransfer":2,"fiscalCodePA":")" + fc +
                    R"(","amount":6000}]})";
  auto f = facts(rt);
  f.receipt_id = "ccp-held";
  const auto held = tx([&](pqxx::work& w) {
    return store_and_apply(w, rt, f, journal::payload_rules::defaults(), test_now());
  });
  EXPECT_EQ(held.flagged, anomaly::position_busy);
  wa.commit();
  const auto done = tx([&](pqxx::work& w) {
    return apply_held_receipts(w, journal::payload_rules::defaults(), test_now(), 10);
  });
  EXPECT_EQ(done.applied, 1);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE applied AND anomaly IS NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID' "
                  "AND receipt_id = 'ccp-held'"),
            1);
}

// receiptId is any xsd:string in the contract; the tables hold at most 35 characters.
TEST_F(receipts_pg, a_receipt_id_too_long_to_store_is_stored_under_its_digest) {
  const auto notice = payable();
  const std::string sent(80, 'x');
  const auto r = record(receipt_key(sent, "<soap/>"), notice);
  ASSERT_EQ(r.receipt_id.size(), 35u);
  const auto first = deliver(r);
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(first.applied);
  EXPECT_FALSE(first.flagged);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID' AND receipt_id = '" +
                  r.receipt_id + "'"),
            1);
  EXPECT_TRUE(deliver(record(receipt_key(sent, "<soap>again</soap>"), notice)).duplicate);
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 1);
}

TEST_F(receipts_pg, a_receipt_that_is_not_utf8_is_stored_all_the_same) {
  // Declared ISO-8859-1 (the guard lets it through), with a payer in Forl\xEC: the bytes go
  // into text columns, where PostgreSQL takes UTF-8 only.
  const auto notice = payable();
  auto r = record("latin-1", notice);
  r.raw_message = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><soap>Forl\xEC</soap>";
  r.psp_name = "Banca di Forl\xEC";
  r.ccp = "ccp-\xFF";
  r.iuv = "01000000000\xFF";  // creditorReferenceId is free text in the schema (stText35)
  // A date of year 0000, which PostgreSQL refuses: stored without it.
  r.application_date =
      positions::date{std::chrono::year(0), std::chrono::January, std::chrono::day(1)};
  const auto out = deliver(r);
  EXPECT_FALSE(out.duplicate);
  EXPECT_TRUE(out.applied);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE receipt_id = 'latin-1' "
                  "AND raw_message LIKE '%Forl?</soap>' AND psp_name = 'Banca di Forl?'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE receipt_id = 'latin-1' "
                  "AND application_date IS NULL"),
            1);
  // The back-office's message carries the IUV as stored.
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'latin-1' "
                  "AND payload->>'iuv' = '01000000000?'"),
            1);
  // A redelivery finds it.
  EXPECT_TRUE(deliver(r).duplicate);
}

TEST_F(receipts_pg, unknown_notices_and_unreadable_receipts_are_kept) {
  const auto unknown = deliver(record("token-9", "301000000009999929"));
  EXPECT_EQ(unknown.flagged, anomaly::unknown_position);
  // A receipt id too long for the option (35): applying fails inside the savepoint, the raw
  // receipt stays.
  const auto notice = payable();
  const auto odd = deliver(record(std::string(40, 'x'), notice));
  EXPECT_FALSE(odd.applied);
  EXPECT_TRUE(odd.flagged);
  EXPECT_EQ(count("SELECT count(*) FROM receipts"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'UNPAID'"), 1);
}

TEST_F(receipts_pg, a_receipt_whose_application_fails_in_sql_is_kept_and_flagged) {
  const auto notice = payable();
  {
    // Any SQL error while applying (here a trigger refusing the option's update) must roll
    // back to the savepoint, not abort the transaction that keeps the raw receipt.
    pqxx::work w(conn());
    w.exec0(
        "CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$");
    w.exec0(
        "CREATE TRIGGER refuse_update BEFORE UPDATE ON payment_options "
        "FOR EACH ROW EXECUTE FUNCTION refuse_update()");
    w.commit();
  }
  const auto out = deliver(record("token-7", notice));
  EXPECT_FALSE(out.duplicate);
  EXPECT_FALSE(out.applied);
  EXPECT_EQ(out.flagged, anomaly::unreadable);
  EXPECT_NE(out.detail.find("refused by the test"), std::string::npos) << out.detail;
  EXPECT_EQ(count("SELECT count(*) FROM receipts WHERE receipt_id = 'token-7' AND NOT applied"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE key = 'token-7'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM payment_options WHERE status = 'PAID'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM position_events WHERE event = 'OPTION_PAID'"), 0);
}

TEST_F(receipts_pg, rts_are_unique_per_iuv_and_ccp) {
  const auto notice = payable();
  auto rt = record("RT-1", notice);
  rt.source = receipt_source::paa_invia_rt;
  rt.ccp = "ccp-1";
  EXPECT_TRUE(tx([&](pqxx::work& w) { return insert_receipt(w, rt); }));
  rt.receipt_id = "RT-2";  // another message id, same payment
  EXPECT_FALSE(tx([&](pqxx::work& w) { return insert_receipt(w, rt); }));
  rt.ccp = "ccp-2";
  EXPECT_TRUE(tx([&](pqxx::work& w) { return insert_receipt(w, rt); }));
}

TEST_F(receipts_pg, a_position_lists_its_receipts_in_pages) {
  const auto notice = payable();
  deliver(record("token-1", notice));
  deliver(record("token-2", notice));
  deliver(record("token-3", notice));
  const auto position_id =
      std::stoll(pqxx::work(conn())
                     .exec1("SELECT position_id FROM payment_options WHERE notice_number = '" +
                            notice + "'")[0]
                     .c_str());
  auto page =
      tx([&](pqxx::work& w) { return list_receipts(w, own_fc, position_id, std::nullopt, 2); });
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].receipt_id, "token-1");
  ASSERT_TRUE(page->next_cursor);
  auto rest = tx(
      [&](pqxx::work& w) { return list_receipts(w, own_fc, position_id, page->next_cursor, 2); });
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].receipt_id, "token-3");
  EXPECT_FALSE(rest->next_cursor);
  EXPECT_FALSE(tx(
      [&](pqxx::work& w) { return list_receipts(w, own_fc, position_id, std::string("bad"), 2); }));
  // Another entity sees none of them.
  auto none = tx([&](pqxx::work& w) {
    return list_receipts(w, "12345678903", position_id, std::nullopt, 50);
  });
  EXPECT_TRUE(none && none->items.empty());
}

}  // namespace
}  // namespace pagohub::pap
