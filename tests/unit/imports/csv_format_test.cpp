// The CSV dialect of bulk imports: header check, rows to positions, error places, and judging
// with the positions rules (docs/api/bulk-csv.md).
#include <pagohub/imports/csv_format.hpp>
#include <pagohub/imports/judge.hpp>
#include <pagohub/positions/dates.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "positions/sample.hpp"
#include "stage_format.hpp"

namespace pagohub::imports {
namespace {

namespace t = positions::testing;

std::vector<parsed_position> parse(const std::string& csv) {
  csv_reader reader(string_source(csv));
  auto header = reader.read_header();
  EXPECT_TRUE(header && header->error.empty());
  auto layout = csv_layout::from_header(header->fields);
  EXPECT_TRUE(layout.has_value());
  std::vector<parsed_position> out;
  csv_position_builder b(*layout, [&](parsed_position&& p) { out.push_back(std::move(p)); });
  csv_reader::record r;
  while (reader.next(r)) b.add(r);
  b.finish();
  return out;
}

const std::string header =
    "externalId,debtorType,debtorFiscalCode,debtorFullName,description,serviceCode,"
    "referenceYear,amount,dueDate";

std::vector<std::string> codes_of(const std::vector<positions::field_error>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.path + ":" + e.code);
  return out;
}

TEST(csv_layout, required_columns_and_case) {
  const auto ok =
      csv_layout::from_header({"EXTERNALID", "debtortype", "debtorFiscalCode", "debtorFullName",
                               "description", "serviceCode", "referenceYear", "amount", "dueDate"});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->index(csv_column::external_id), 0);
  EXPECT_EQ(ok->index(csv_column::operation), -1);
}

TEST(csv_layout, missing_unknown_and_duplicate_columns_are_all_reported) {
  const auto bad = csv_layout::from_header(
      {"externalId", "debtorType", "debtorFiscalCode", "debtorFullName", "description",
       "serviceCode", "referenceYear", "amount", "amount", "colour", "transfer6Amount"});
  ASSERT_FALSE(bad.has_value());
  const auto c = codes_of(bad.error());
  EXPECT_NE(std::find(c.begin(), c.end(), "/header/amount:duplicate"), c.end());
  EXPECT_NE(std::find(c.begin(), c.end(), "/header/colour:unknown"), c.end());
  EXPECT_NE(std::find(c.begin(), c.end(), "/header/transfer6Amount:unknown"), c.end());
  EXPECT_NE(std::find(c.begin(), c.end(), "/header:required"), c.end());  // dueDate
  bool five = false;
  for (const auto& e : bad.error())
    if (e.message.find("at most 5 transfers") != std::string::npos) five = true;
  EXPECT_TRUE(five);
}

TEST(csv_layout, wrong_delimiter_gets_a_hint) {
  const auto bad = csv_layout::from_header({"externalId\tdebtorType\tamount"});
  ASSERT_FALSE(bad.has_value());
  bool hint = false;
  for (const auto& e : bad.error())
    if (e.message.find("separate the columns with ',' or ';'") != std::string::npos) hint = true;
  EXPECT_TRUE(hint);
}

TEST(csv_builder, one_row_is_one_position_with_one_transfer) {
  const auto ps =
      parse(header + "\nA1,F,RSSMRA80A01H501U,Mario Rossi,TARI 2025,TARI,2025,12000,2030-12-31\n");
  ASSERT_EQ(ps.size(), 1u);
  const auto& p = ps[0];
  EXPECT_FALSE(p.has_errors());
  EXPECT_EQ(p.op, row_op::upsert);
  EXPECT_EQ(p.pos.external_id, "A1");
  ASSERT_EQ(p.pos.options.size(), 1u);
  const auto& o = p.pos.options[0];
  EXPECT_EQ(o.kind, positions::option_kind::single);
  EXPECT_EQ(o.amount, 12000);
  EXPECT_EQ(o.description, "TARI 2025");
  ASSERT_EQ(o.transfers.size(), 1u);
  EXPECT_EQ(o.transfers[0].amount, 12000);
  EXPECT_EQ(o.transfers[0].index, 1);
  EXPECT_EQ(p.option_lines, (std::vector<std::uint32_t>{2}));
}

TEST(csv_builder, consecutive_rows_group_into_a_plan) {
  const std::string h = header +
                        ",optionKind,instalment,transfer1Amount,transfer2Amount,"
                        "transfer2BeneficiaryFiscalCode,transfer2Iban";
  const auto ps = parse(h +
                        "\nP1,F,RSSMRA80A01H501U,Mario Rossi,TARI,TARI,2025,30000,2030-12-31,"
                        "SINGLE,,,,,\n"
                        "P1,,,,,,,15000,2030-06-30,INSTALMENT,1,,,,\n"
                        "P1,,,,,,,15000,2030-12-31,INSTALMENT,2,10000,5000,12345678903,"
                        "IT67P0306909606000000012345\n"
                        "P2,G,01234567897,ACME,X,TARI,2025,100,2030-01-01,,,,,,\n");
  ASSERT_EQ(ps.size(), 2u);
  const auto& p = ps[0];
  EXPECT_FALSE(p.has_errors()) << (p.errors[0].empty() ? "" : p.errors[0][0].message);
  ASSERT_EQ(p.pos.options.size(), 3u);
  EXPECT_EQ(p.option_lines, (std::vector<std::uint32_t>{2, 3, 4}));
  EXPECT_EQ(p.pos.options[1].kind, positions::option_kind::instalment);
  EXPECT_EQ(p.pos.options[2].instalment, 2);
  ASSERT_EQ(p.pos.options[2].transfers.size(), 2u);
  EXPECT_EQ(p.pos.options[2].transfers[1].index, 2);
  EXPECT_EQ(p.pos.options[2].transfers[1].beneficiary_fiscal_code, "12345678903");
  EXPECT_EQ(ps[1].pos.external_id, "P2");
}

TEST(csv_builder, type_errors_name_the_column) {
  const auto ps = parse(header + "\nA,F,RSSMRA80A01H501U,M,D,TARI,20x5,120.50,31/12/2030\n");
  ASSERT_EQ(ps.size(), 1u);
  const auto c = codes_of(ps[0].errors[0]);
  EXPECT_NE(std::find(c.begin(), c.end(), "/amount:invalid"), c.end());
  EXPECT_NE(std::find(c.begin(), c.end(), "/dueDate:invalid"), c.end());
  EXPECT_NE(std::find(c.begin(), c.end(), "/referenceYear:invalid"), c.end());
}

TEST(csv_builder, later_rows_must_not_contradict_the_first) {
  const auto ps = parse(header +
                        ",optionKind,instalment\n"
                        "P,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,INSTALMENT,1\n"
                        "P,F,RSSMRA80A01H501U,Other,D,TARI,2025,100,2030-02-01,INSTALMENT,2\n");
  ASSERT_EQ(ps.size(), 1u);
  ASSERT_EQ(ps[0].errors.size(), 2u);
  EXPECT_EQ(codes_of(ps[0].errors[1]), (std::vector<std::string>{"/debtorFullName:inconsistent"}));
}

TEST(csv_builder, cancel_rows_need_only_the_external_id) {
  const auto ps = parse("operation," + header + "\nCANCEL,OLD-1,,,,,,,,\n");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].op, row_op::cancel);
  EXPECT_FALSE(ps[0].has_errors());
}

// A broken record may be a lost row of the position being built (an instalment of its plan):
// loaded without it, the position would not be the file's. The record ends that position, and
// rejects it unless the record names another external id.
TEST(csv_builder, a_broken_record_ends_and_rejects_the_position_it_may_belong_to) {
  const auto ps = parse(header +
                        ",optionKind,instalment\n"
                        "P,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,INSTALMENT,1\n"
                        "P,\"broken\"x,,,,,,,,\n"
                        "P,,,,,,,100,2030-02-01,INSTALMENT,2\n"
                        "Q,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,,\n"
                        "short,row\n"
                        "R,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,,\n"
                        "R,,,,,,,100,2030-02-01,,,extra\n");
  ASSERT_EQ(ps.size(), 7u);
  // P's first row, rejected for the unreadable line 3 that may have been its own.
  EXPECT_EQ(ps[0].line, 2u);
  ASSERT_TRUE(ps[0].has_errors());
  EXPECT_NE(ps[0].errors[0].back().message.find("line 3"), std::string::npos);
  EXPECT_EQ(ps[1].line, 3u);
  EXPECT_TRUE(ps[1].has_errors());
  // P again on line 4: a position of its own, rejected too, since the unreadable line 3 just
  // before it may have been its first row.
  EXPECT_EQ(ps[2].line, 4u);
  EXPECT_EQ(ps[2].pos.options.size(), 1u);
  ASSERT_TRUE(ps[2].has_errors());
  EXPECT_NE(ps[2].errors[0].back().message.find("line 3, just before"), std::string::npos);
  // "short" is another external id: Q stands.
  EXPECT_EQ(ps[3].pos.external_id, "Q");
  EXPECT_FALSE(ps[3].has_errors());
  EXPECT_EQ(ps[4].errors[0][0].message, "the row has 2 fields, the header has 11");
  // R's second row has a field too many but names R: R is rejected.
  EXPECT_EQ(ps[5].pos.external_id, "R");
  EXPECT_TRUE(ps[5].has_errors());
  EXPECT_EQ(ps[6].line, 8u);
}

TEST(csv_builder, a_position_whose_first_row_is_broken_is_not_loaded_without_it) {
  // X's first row (its pay-in-full option) has a field too many; its instalments follow. Loaded
  // without that row, X would be a plan with no single option: another position than the file's.
  const auto ps = parse(header +
                        ",optionKind,instalment\n"
                        "W,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,,\n"
                        "X,F,RSSMRA80A01H501U,M,D,TARI,2025,200,2030-01-01,SINGLE,,extra\n"
                        "X,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,INSTALMENT,1\n"
                        "X,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-02-01,INSTALMENT,2\n"
                        "Y,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,,\n");
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_FALSE(ps[0].has_errors());  // W, before the broken line, names another id
  EXPECT_TRUE(ps[1].has_errors());   // line 3 itself
  EXPECT_EQ(ps[2].pos.external_id, "X");
  EXPECT_EQ(ps[2].pos.options.size(), 2u);
  EXPECT_TRUE(ps[2].has_errors());
  EXPECT_EQ(ps[3].pos.external_id, "Y");  // after X: unaffected
  EXPECT_FALSE(ps[3].has_errors());
}

// A quote never closed takes every line after it into one field: each of those lines is
// reported as a row of its own, rejected, so that the report accounts for every line.
TEST(csv_builder, every_line_an_unclosed_quote_takes_is_a_rejected_row) {
  const auto ps = parse(header +
                        "\n"
                        "P,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01\n"
                        "Q,F,\"RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01\n"
                        "R,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01\n"
                        "S,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01\n");
  ASSERT_EQ(ps.size(), 4u);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    EXPECT_EQ(ps[i].line, i + 2);
    EXPECT_TRUE(ps[i].has_errors()) << i;  // P: line 3 may have been a row of its plan
  }
  EXPECT_EQ(ps[1].errors[0][0].message.rfind("field 3 opens a quote on line 3 that is never "
                                             "closed (broken quoting); lines 3 to 5",
                                             0),
            0u)
      << ps[1].errors[0][0].message;
  for (std::size_t i = 2; i < 4; ++i) {
    ASSERT_EQ(ps[i].errors.size(), 1u);
    ASSERT_EQ(ps[i].errors[0].size(), 1u);
    EXPECT_EQ(ps[i].errors[0][0].path, "");
    EXPECT_EQ(ps[i].errors[0][0].code, "invalid");
    EXPECT_EQ(ps[i].errors[0][0].message,
              "not read as a row: part of the row that begins on line 3, which cannot be read "
              "(the quote opened on line 3 is never closed)");
  }
}

// One external id on row after row: a position keeps at most max_payment_options of them (memory
// stays bounded whatever the file repeats); each further row is reported on its own.
TEST(csv_builder, rows_past_the_options_limit_are_rejected_one_by_one) {
  std::string csv = header + ",optionKind,instalment\n";
  const std::size_t rows = positions::max_payment_options + 50;
  for (std::size_t i = 1; i <= rows; ++i)
    csv +=
        "P,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,INSTALMENT," + std::to_string(i) + "\n";
  csv += "Q,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,,\n";
  const auto ps = parse(csv);
  ASSERT_EQ(ps.size(), 52u);
  for (std::size_t i = 0; i < 50; ++i) {
    EXPECT_EQ(ps[i].line, positions::max_payment_options + 2 + i);
    EXPECT_TRUE(ps[i].pos.options.empty());
    EXPECT_EQ(codes_of(ps[i].errors[0]), (std::vector<std::string>{"/externalId:count"}));
  }
  const auto& p = ps[50];
  EXPECT_EQ(p.pos.options.size(), positions::max_payment_options);
  ASSERT_TRUE(p.has_errors());
  EXPECT_EQ(codes_of({p.errors[0].back()}), (std::vector<std::string>{"/externalId:count"}));
  EXPECT_EQ(ps[51].pos.external_id, "Q");
  EXPECT_FALSE(ps[51].has_errors());
}

TEST(csv_builder, amounts_are_bounded_before_anything_sums_them) {
  const std::string h = header + ",transfer1Amount,transfer2Amount";
  const auto ps = parse(h +
                        "\nA,F,RSSMRA80A01H501U,M,D,TARI,2025,9223372036854775807,2030-01-01,"
                        "9223372036854775807,100000000000\n");
  ASSERT_EQ(ps.size(), 1u);
  const auto c = codes_of(ps[0].errors[0]);
  EXPECT_EQ(c, (std::vector<std::string>{"/amount:out_of_range", "/transfer1Amount:out_of_range",
                                         "/transfer2Amount:out_of_range"}));
  // The largest amount pagoPA takes is still read.
  const auto ok = parse(header + "\nA,F,RSSMRA80A01H501U,M,D,TARI,2025,99999999999,2030-01-01\n");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_FALSE(ok[0].has_errors());
  EXPECT_EQ(ok[0].pos.options[0].amount, 99999999999);
}

TEST(csv_builder, validity_dates_outside_the_due_date_years_are_refused_not_wrapped) {
  const std::string h = header + ",validityDate";
  for (const char* bad : {"9999-12-31", "2263-01-01", "1999-12-31"}) {
    const auto ps = parse(h + "\nA,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01," + bad + "\n");
    ASSERT_EQ(ps.size(), 1u);
    EXPECT_EQ(codes_of(ps[0].errors[0]), (std::vector<std::string>{"/validityDate:out_of_range"}))
        << bad;
    EXPECT_FALSE(ps[0].pos.validity_date.has_value()) << bad;
  }
  const auto ok = parse(h + "\nA,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,2029-12-31\n");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_FALSE(ok[0].has_errors());
  ASSERT_TRUE(ok[0].pos.validity_date.has_value());
  EXPECT_EQ(positions::rome_date(*ok[0].pos.validity_date), t::ymd(2029, 12, 31));
}

TEST(staging, nul_never_reaches_postgresql) {
  // A NUL the decoders let through must not fail the COPY: text and JSON get U+FFFD.
  std::string json;
  detail::append_json_string(json, std::string("a\0b", 3));
  EXPECT_EQ(json, "\"a\\ufffdb\"");
  parsed_position p;
  p.op = row_op::cancel;
  p.pos.external_id = std::string("A\0", 2);
  p.line = 7;
  p.errors = {{{std::string("/\0", 2), "invalid", std::string("bad \0 name", 10)}}};
  std::string rows;
  detail::append_stage_rows(rows, 1, p, nullptr);
  EXPECT_EQ(rows.find('\0'), std::string::npos);
  EXPECT_NE(rows.find("A\xEF\xBF\xBD\t"), std::string::npos) << rows;
  // In the errors' JSON, paths and messages are cut as UTF-8 text first, a NUL becoming '?'.
  EXPECT_NE(rows.find(R"("path":"/?")"), std::string::npos) << rows;
}

TEST(csv_place, rest_paths_become_columns_and_rows) {
  positions::position p;
  p.options.resize(2);
  positions::transfer t1;
  t1.index = 1;
  positions::transfer t3;
  t3.index = 3;
  p.options[1].transfers = {t1, t3};
  EXPECT_EQ(csv_place_of("/debtor/fiscalCode", p).path, "/debtorFiscalCode");
  const auto a = csv_place_of("/paymentOptions/1/transfers/1/iban", p);
  EXPECT_EQ(a.option, 1u);
  EXPECT_EQ(a.path, "/transfer3Iban");
  EXPECT_EQ(csv_place_of("/paymentOptions/1/transfers/0/stamp/province", p).path,
            "/transfer1StampProvince");
  EXPECT_EQ(csv_place_of("/paymentOptions/1/transfers/0/stamp/stampType", p).path,
            "/transfer1StampType");
  EXPECT_EQ(csv_place_of("/paymentOptions/1/transfers/0/stamp/documentHash", p).path,
            "/transfer1StampDocumentHash");
  EXPECT_EQ(csv_place_of("/paymentOptions/0/description", p).path, "/optionDescription");
  EXPECT_EQ(csv_place_of("/paymentOptions/0/kind", p).path, "/optionKind");
  EXPECT_EQ(csv_place_of("/serviceCode", p).path, "/serviceCode");
}

struct judging : ::testing::Test {
  config::entity entity = t::own_entity();
  config::entity_registry registry = t::registry();
  config::application app;
  judging() {
    app.id = "tributi";
    app.entities = {t::own_fc};
  }
  parsed_position judged(const std::string& row, const std::string& extra_header = "") {
    auto ps = parse(header + extra_header + "\n" + row + "\n");
    EXPECT_EQ(ps.size(), 1u);
    judge(ps[0], {entity, registry, app, t::ymd(2025, 1, 1), file_format::csv});
    return ps[0];
  }
};

TEST_F(judging, valid_row_gets_defaults_and_no_errors) {
  const auto p = judged("A,F,RSSMRA80A01H501U,Mario,TARI 2025,TARI,2025,12000,2030-12-31");
  EXPECT_FALSE(p.has_errors());
  const auto& t = p.pos.options[0].transfers[0];
  EXPECT_EQ(t.beneficiary_fiscal_code, t::own_fc);
  EXPECT_EQ(t.iban.value_or(""), t::own_iban);
  EXPECT_EQ(t.taxonomy, "9/0101002IM/");
}

TEST_F(judging, bad_input_of_the_issue_is_placed_on_columns) {
  const auto codes = [&](const std::string& row, const std::string& extra = "") {
    return codes_of(judged(row, extra).errors[0]);
  };
  const auto has = [](const std::vector<std::string>& c, const std::string& want) {
    return std::find(c.begin(), c.end(), want) != c.end();
  };
  EXPECT_TRUE(
      has(codes("A,F,RSSMRA80A01H501X,M,D,TARI,2025,100,2030-01-01"), "/debtorFiscalCode:invalid"));
  EXPECT_TRUE(has(codes("A,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,"
                        "IT97U0503411701000000001235",
                        ",transfer1Iban"),
                  "/transfer1Iban:invalid"));
  EXPECT_TRUE(has(codes("A,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,"
                        "IT60X0542811101000000123456",
                        ",transfer1Iban"),
                  "/transfer1Iban:not_registered"));
  EXPECT_TRUE(has(codes("A,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01,60,30",
                        ",transfer1Amount,transfer2Amount"),
                  "/transfers:sum_mismatch"));
  EXPECT_TRUE(
      has(codes("A,F,RSSMRA80A01H501U,M,D,TARI,2025,0,2030-01-01"), "/amount:out_of_range"));
  EXPECT_TRUE(
      has(codes("A,F,RSSMRA80A01H501U,M,D,TARI,2025,-5,2030-01-01"), "/amount:out_of_range"));
  EXPECT_TRUE(has(codes("A,F,RSSMRA80A01H501U,M,D,TARI,2025,1.005,2030-01-01"), "/amount:invalid"));
  EXPECT_TRUE(has(codes("A,F,RSSMRA80A01H501U,M,D,NOPE,2025,100,2030-01-01"),
                  "/serviceCode:unknown_service"));
  app.services = {"MENSA"};
  EXPECT_TRUE(
      has(codes("A,F,RSSMRA80A01H501U,M,D,TARI,2025,100,2030-01-01"), "/serviceCode:forbidden"));
}

}  // namespace
}  // namespace pagohub::imports
