// Payload policies, compression and the stored form of an event.
#include <gtest/gtest.h>
#include <zlib.h>

#include "compress.hpp"
#include "pagohub/journal/record.hpp"
#include "storage.hpp"

namespace {

using namespace pagohub::journal;
using pagohub::config::journal_settings;
using pagohub::config::payload_policy;

event with_body(interface_kind kind, std::string outcome) {
  event e;
  e.interface = kind;
  e.outcome = std::move(outcome);
  e.message = payload{
      "application/json", {{"X-API-Key", "phk_x"}}, R"({"fullName":"Mario Rossi","amount":100})"};
  return e;
}

TEST(journal_payload, policy_decides_what_is_kept) {
  journal_settings s;
  s.payload_policies = {{"default", payload_policy::never},
                        {"rest", payload_policy::on_error},
                        {"soap_pa", payload_policy::always}};
  const payload_rules rules(s);
  EXPECT_FALSE(rules.prepare(with_body(interface_kind::rest, "OK")));
  EXPECT_TRUE(rules.prepare(with_body(interface_kind::rest, "KO")));
  auto failed_http = with_body(interface_kind::rest, "");
  failed_http.http_status = 422;
  EXPECT_TRUE(rules.prepare(failed_http));
  EXPECT_TRUE(rules.prepare(with_body(interface_kind::soap_pa, "OK")));
  EXPECT_FALSE(rules.prepare(with_body(interface_kind::webhook, "KO"))) << "default: never";
  event none;
  none.interface = interface_kind::soap_pa;
  EXPECT_FALSE(rules.prepare(none));
}

TEST(journal_payload, stored_payload_is_redacted_compressed_and_digested) {
  const payload_rules rules(journal_settings{});
  const auto p = rules.prepare(with_body(interface_kind::rest, "KO"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->content_type, "application/json");
  EXPECT_EQ(p->headers, "X-API-Key: ***\n");
  const auto body = detail::decompress(p->body, static_cast<std::size_t>(p->original_bytes));
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, R"({"fullName":"***","amount":100})");
  EXPECT_FALSE(detail::decompress(p->body, static_cast<std::size_t>(p->original_bytes) + 1));
  EXPECT_FALSE(detail::decompress("not zlib", 3));
  EXPECT_FALSE(detail::decompress(std::string("\x28\xb5\x2f\xfd", 4) + "junk", 4));
}

TEST(journal_payload, oversized_bodies_are_noted_not_stored) {
  journal_settings s;
  s.payload_max_bytes = 10;
  const payload_rules rules(s);
  const auto p = rules.prepare(with_body(interface_kind::rest, "KO"));
  ASSERT_TRUE(p);
  const auto body = detail::decompress(p->body, static_cast<std::size_t>(p->original_bytes));
  EXPECT_EQ(body, "[39 bytes not stored: larger than payload_max_bytes (10)]");
}

TEST(journal_payload, compression_round_trips_large_and_empty_inputs) {
  std::string big;
  for (int i = 0; i < 100000; ++i) big += "<row>" + std::to_string(i) + "</row>";
  const auto z = detail::compress(big);
  EXPECT_LT(z.size(), big.size() / 4);
  EXPECT_EQ(detail::decompress(z, big.size()), big);
  EXPECT_EQ(detail::decompress(detail::compress(""), 0), "");
}

// Payloads stored before zstd are zlib streams, and read back as they were.
TEST(journal_payload, zlib_streams_of_earlier_versions_still_read) {
  const std::string text = R"({"receiptId":"r-1","amount":12000,"payer":"***"})";
  std::string z(compressBound(static_cast<uLong>(text.size())), '\0');
  uLongf n = static_cast<uLongf>(z.size());
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(z.data()), &n,
                      reinterpret_cast<const Bytef*>(text.data()), text.size(), 6),
            Z_OK);
  z.resize(n);
  EXPECT_EQ(detail::decompress(z, text.size()), text);
  EXPECT_FALSE(detail::decompress(z, text.size() - 1));
  // A new payload is a zstd frame, not a zlib stream.
  EXPECT_EQ(detail::compress(text).substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
}

TEST(journal_stored_form, fields_are_cut_cleaned_and_defaulted) {
  event e;
  e.cat = category::interno;
  e.type = std::string(50, 't');
  e.entity_fc = "01234567897";
  e.caller_id = "caf\xc3\xa9\xff";  // valid é, then a stray byte
  e.component = "positions";
  e.notice_number = "301000000000000144";
  e.by = {"robot", "x"};
  e.http_status = 42;
  e.duration_ms = -5;
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'714'557'600));
  const auto r = detail::normalise(e, now, std::nullopt);
  EXPECT_EQ(r.time_us, 1'714'557'600'000'000);
  EXPECT_EQ(r.category, "INTERNO");
  EXPECT_EQ(r.event_type, std::string(35, 't'));
  EXPECT_EQ(r.event_subtype, "n/a");
  EXPECT_EQ(r.caller_id, "caf\xc3\xa9?");
  EXPECT_EQ(r.provider_id, "positions") << "erogatore defaults to the component";
  EXPECT_EQ(r.iuv, "01000000000000144") << "the IUV comes with the notice number";
  EXPECT_EQ(r.actor_kind, "system");
  EXPECT_EQ(r.actor_id, "robot:x");
  EXPECT_FALSE(r.http_status);
  EXPECT_EQ(r.duration_ms, 0);
  EXPECT_FALSE(r.ccp) << "empty optional text is NULL";

  e.notice_number = "12345";
  const auto odd = detail::normalise(e, now, std::nullopt);
  EXPECT_FALSE(odd.notice_number);
  EXPECT_EQ(odd.interface_params, "noticeNumber=12345");
}

TEST(journal_events, an_exchange_makes_a_req_and_a_rsp_sharing_its_outcome) {
  exchange x;
  x.type = "createPosition";
  x.request_id = "rid-1";
  x.started = std::chrono::system_clock::time_point(std::chrono::seconds(100));
  x.finished = x.started + std::chrono::milliseconds(37);
  x.http_status = 409;
  x.request = payload{"application/json", {}, "{}"};
  x.response = payload{"application/problem+json", {}, "{}"};
  const auto [req, rsp] = make_events(x);
  EXPECT_EQ(req.subtype, "req");
  EXPECT_EQ(rsp.subtype, "rsp");
  EXPECT_EQ(req.outcome, "KO");
  EXPECT_EQ(rsp.outcome, "KO");
  EXPECT_TRUE(req.is_error());
  EXPECT_EQ(req.time, x.started);
  EXPECT_EQ(rsp.time, x.finished);
  EXPECT_EQ(rsp.duration_ms, 37);
  EXPECT_FALSE(req.http_status);
  EXPECT_EQ(rsp.http_status, 409);
  EXPECT_EQ(req.request_id, rsp.request_id);
  EXPECT_EQ(req.message->content_type, "application/json");
  EXPECT_EQ(rsp.message->content_type, "application/problem+json");
}

}  // namespace
