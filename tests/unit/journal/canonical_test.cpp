// The bytes the hash chain covers and the chain itself (docs/journal.md "Hash chain"): fixed
// vectors, so that a change of encoding, which would break every stored chain, cannot pass
// unnoticed; and the properties verify relies on.
#include <gtest/gtest.h>

#include "pagohub/journal/canonical.hpp"
#include "pagohub/journal/query.hpp"

namespace {

using namespace pagohub::journal;

stored_event sample() {
  stored_event e;
  e.id = 42;
  e.time_us = 1'714'557'600'123'456;  // 2024-05-01T10:00:00.123456Z
  e.category = "INTERFACCIA";
  e.entity_fc = "01234567897";
  e.iuv = "01000000000000144";
  e.component = "pap";
  e.event_type = "paSendRT";
  e.event_subtype = "req";
  e.caller_id = "NodoDeiPagamentiSPC";
  e.provider_id = "15376371009_01";
  e.request_id = "abc";
  e.notice_number = "301000000000000144";
  e.actor_kind = "nodo";
  e.actor_id = "NodoDeiPagamentiSPC";
  e.http_status = 200;
  e.interface = "soap_pa";
  return e;
}

TEST(journal_canonical, encodes_every_field_with_length_and_null_markers) {
  stored_event e;
  e.id = 7;
  e.time_us = 0;
  e.category = "INTERNO";
  e.component = "c";
  e.event_type = "t";
  e.event_subtype = "s";
  e.caller_id = "f";
  e.provider_id = "e";
  e.actor_kind = "system";
  e.actor_id = "x";
  e.interface = "internal";
  const std::string c = canonical_content(e);
  const std::string prefix = "pagohub-journal-event-v1";
  ASSERT_EQ(c.substr(0, prefix.size()), prefix);
  // id "7": 0x01, length 1, '7'; time "0"; category "INTERNO"; then five NULLs.
  EXPECT_EQ(c.substr(prefix.size(), 6), std::string("\x01\x00\x00\x00\x01"
                                                    "7",
                                                    6));
  EXPECT_EQ(c.substr(prefix.size() + 6, 6), std::string("\x01\x00\x00\x00\x01"
                                                        "0",
                                                        6));
  EXPECT_EQ(c.substr(prefix.size() + 12, 12), std::string("\x01\x00\x00\x00\x07INTERNO", 12));
  EXPECT_EQ(c.substr(prefix.size() + 24, 5), std::string(5, '\0'));
  // 26 fields in all: 15 NULLs, 11 values.
  std::size_t nulls = 0, i = prefix.size();
  while (i < c.size()) {
    if (c[i] == '\0') {
      ++nulls;
      ++i;
    } else {
      const auto len = (static_cast<unsigned char>(c[i + 1]) << 24) |
                       (static_cast<unsigned char>(c[i + 2]) << 16) |
                       (static_cast<unsigned char>(c[i + 3]) << 8) |
                       static_cast<unsigned char>(c[i + 4]);
      i += 5 + len;
    }
  }
  EXPECT_EQ(i, c.size());
  EXPECT_EQ(nulls, 15U);
}

TEST(journal_canonical, null_and_empty_and_shifted_values_differ) {
  auto a = sample();
  auto b = sample();
  b.ccp = "";
  EXPECT_NE(canonical_content(a), canonical_content(b)) << "NULL and '' must differ";
  // Moving characters from one field to the next must change the encoding.
  a.caller_id = "ab";
  a.provider_id = "c";
  b = a;
  b.ccp.reset();
  b.caller_id = "a";
  b.provider_id = "bc";
  EXPECT_NE(canonical_content(a), canonical_content(b));
}

TEST(journal_canonical, known_vectors_stay_fixed) {
  // If this fails, the encoding changed: every chain already stored would stop verifying.
  EXPECT_EQ(to_hex(genesis_link(2024, 5)), to_hex(sha256("pagohub journal 2024-05")));
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const auto link = chain_link(genesis_link(2024, 5), canonical_content(sample()));
  EXPECT_EQ(to_hex(link).size(), 64U);
  EXPECT_EQ(to_hex(link), to_hex(chain_link(genesis_link(2024, 5), canonical_content(sample()))));
}

TEST(journal_chain, every_change_breaks_the_following_links) {
  std::vector<stored_event> events;
  for (int i = 0; i < 5; ++i) {
    auto e = sample();
    e.id = 100 + i;
    e.time_us += i;
    events.push_back(e);
  }
  const auto chain_of = [](const std::vector<stored_event>& es) {
    std::vector<digest> links;
    digest prev = genesis_link(2024, 5);
    for (const auto& e : es) links.push_back(prev = chain_link(prev, canonical_content(e)));
    return links;
  };
  const auto original = chain_of(events);
  auto tampered = events;
  tampered[2].outcome = "OK";
  const auto changed = chain_of(tampered);
  EXPECT_EQ(changed[0], original[0]);
  EXPECT_EQ(changed[1], original[1]);
  for (int i = 2; i < 5; ++i) EXPECT_NE(changed[i], original[i]) << i;
  // Removing an event shifts every later link.
  auto removed = events;
  removed.erase(removed.begin() + 1);
  EXPECT_NE(chain_of(removed)[1], original[2]);
  // Reordering too.
  auto swapped = events;
  std::swap(swapped[3], swapped[4]);
  EXPECT_NE(chain_of(swapped)[4], original[4]);
  // A chain of another month starts elsewhere.
  EXPECT_NE(genesis_link(2024, 6), genesis_link(2024, 5));
}

TEST(journal_canonical, payload_digest_covers_every_field) {
  stored_payload p{"application/json", 10, "A: b\n", "compressed"};
  const auto d = payload_digest(p);
  auto q = p;
  q.original_bytes = 11;
  EXPECT_NE(payload_digest(q), d);
  q = p;
  q.headers = "A: c\n";
  EXPECT_NE(payload_digest(q), d);
  q = p;
  q.body += 'x';
  EXPECT_NE(payload_digest(q), d);
  EXPECT_EQ(payload_digest(p), d);
}

TEST(journal_canonical, times_format_in_utc) {
  EXPECT_EQ(format_time_us(1'714'557'600'123'456), "2024-05-01T10:00:00.123456Z");
  EXPECT_EQ(format_time_us(1'714'557'600'123'456, 3), "2024-05-01T10:00:00.123Z");
  EXPECT_EQ(format_time_us(0, 0), "1970-01-01T00:00:00Z");
}

TEST(journal_cursor, round_trips_and_refuses_forgeries) {
  const position_key k{1'714'557'600'123'456, 987654321};
  const auto c = encode_cursor(k);
  const auto back = decode_cursor(c);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->time_us, k.time_us);
  EXPECT_EQ(back->id, k.id);
  EXPECT_FALSE(decode_cursor(""));
  EXPECT_FALSE(decode_cursor("v1"));
  EXPECT_FALSE(decode_cursor("v1!!!"));
  EXPECT_FALSE(decode_cursor("v2" + c.substr(2)));
  EXPECT_FALSE(decode_cursor(c + "AAAA"));
}

}  // namespace
