// The bulk import tests' fixture: a processor on the test's thread (service::run_once), one
// back-office application, imports queued as POST .../imports queues them, and their reports.
#pragma once

#include <pagohub/api/imports.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/imports/service.hpp>
#include <pagohub/imports/store.hpp>

#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pg/positions/positions_fixture.hpp"
#include "support/report_csv.hpp"

namespace pagohub::imports::testing {

namespace t = positions::testing;

inline const std::string app_id = "tributi";

struct report_line {
  int line = 0;
  std::string external_id, op, outcome, notice, path, code, message;
};

inline std::vector<report_line> parse_report(const std::string& text) {
  std::vector<report_line> out;
  for (auto& f : test_support::report_rows(text))
    out.push_back({std::stoi(f[0]), f[1], f[2], f[3], f[4], f[5], f[6], f[7]});
  return out;
}

class imports_pg : public t::positions_pg {
 protected:
  void SetUp() override {
    t::positions_pg::SetUp();
    if (IsSkipped()) return;
    config::application app;
    app.id = app_id;
    app.name = "Tributi";
    app.entities = {t::own_fc};
    auto registry = std::make_shared<const config::entity_registry>(t::registry());
    apps_ = std::make_unique<config::application_holder>(
        std::make_shared<const config::application_registry>(std::vector<config::application>{app},
                                                             registry));
    dir_ = std::filesystem::temp_directory_path() / ("pagohub-imports-" + database().name());
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    t::positions_pg::TearDown();
  }

  std::unique_ptr<service> make_service() {
    return std::make_unique<service>(
        service_settings{conninfo(), 1, std::chrono::milliseconds(1000), 3,
                         &api::decode_import_line, max_invalid_rows_},
        *apps_, clock_);
  }

  /// Queues an import of `content` as POST .../imports does; returns its id.
  std::int64_t queue(const std::string& content, file_format format = file_format::csv,
                     load_mode mode = load_mode::all_or_nothing) {
    const auto file = dir_ / ("upload-" + std::to_string(++files_));
    std::ofstream(file, std::ios::binary) << content;
    return tx([&](pqxx::work& w) {
             return create_import(
                 w,
                 new_import{t::own_fc, app_id, format, mode,
                            positions::actor{"application", app_id, "req-1"}, clock_.now()},
                 file);
           })
        .id;
  }

  /// Runs the processor until nothing is left; returns how many imports it took.
  /// Queues `content` in valid-rows mode and processes it; it must end done. Returns its id.
  std::int64_t load_valid_rows(const std::string& content, file_format format) {
    const auto id = queue(content, format, load_mode::valid_rows);
    process();
    const auto r = record(id);
    EXPECT_EQ(r.state, import_state::done) << r.error.value_or("");
    return id;
  }

  int process(const fail_point& hook = {}) {
    auto s = make_service();
    int n = 0;
    while (s->run_once(hook)) ++n;
    return n;
  }

  import_record record(std::int64_t id) {
    return tx([&](pqxx::work& w) { return find_import(w, t::own_fc, app_id, id); }).value();
  }

  std::vector<report_line> report(std::int64_t id) {
    std::string text(report_header());
    for (int from = 0;;) {
      auto piece = tx([&](pqxx::work& w) { return report_piece_from(w, t::own_fc, id, from); });
      if (!piece) break;
      text += piece->data;
      from = piece->seq + 1;
    }
    return parse_report(text);
  }

  long long positions_count() { return count("SELECT count(*) FROM positions"); }

  /// A valid NDJSON line: a single-option position `external_id` of 1 euro.
  static std::string ndjson_position(const std::string& external_id) {
    return R"({"externalId":")" + external_id +
           R"(","debtor":{"type":"F","fiscalCode":"RSSMRA80A01H501U",)"
           R"("fullName":"Mario Rossi"},"description":"TARI","serviceCode":"TARI",)"
           R"("referenceYear":2025,"paymentOptions":[{"kind":"SINGLE","amount":100,)"
           R"("dueDate":"2025-12-31","description":"Unica","transfers":[{"index":1,"amount":100,)"
           R"("remittanceInformation":"r"}]}]})";
  }

  /// A valid CSV of `n` single-option positions A0..A<n-1>.
  static std::string csv_rows(int n, const std::string& prefix = "A", long long cents = 12000) {
    std::string s =
        "externalId;debtorType;debtorFiscalCode;debtorFullName;description;serviceCode;"
        "referenceYear;amount;dueDate\r\n";
    for (int i = 0; i < n; ++i) {
      s += prefix + std::to_string(i) + ";F;RSSMRA80A01H501U;Mario Rossi " + std::to_string(i) +
           ";TARI 2025;TARI;2025;" + std::to_string(cents) + ";2025-12-31\r\n";
    }
    return s;
  }

  core::fixed_clock clock_{t::test_now()};
  std::int64_t max_invalid_rows_ = 1'000'000;  ///< service_settings::max_invalid_rows
  std::unique_ptr<config::application_holder> apps_;
  std::filesystem::path dir_;
  int files_ = 0;
};

}  // namespace pagohub::imports::testing
