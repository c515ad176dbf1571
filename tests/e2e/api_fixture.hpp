#pragma once
// The back-office API through the real daemon: two entities (the demo one and a second one
// defined here), several applications with their own keys, and helpers to call the API.
#include <pagohub/api/api_key.hpp>

#include <support/pg_database.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "daemon_process.hpp"
#include "http_client.hpp"

namespace pagohub::test {

namespace beast_http = boost::beast::http;

/// The demo entity of config/entities/demo.toml, and a second one defined by the fixture.
inline const std::string entity_a = "01234567897";
inline const std::string entity_b = "80012000826";
/// Entity A's registered accounts (config/entities/demo.toml).
inline const std::string iban_a = "IT97U0503411701000000001234";
inline const std::string postal_iban_a = "IT22L0760101600000012345678";
/// Entity B's only account: a valid IBAN that entity A has not registered.
inline const std::string iban_b = "IT60X0542811101000000123456";

/// "/api/v1/entities/<fc>" + rest.
inline std::string api_path(const std::string& fc, const std::string& rest) {
  return "/api/v1/entities/" + fc + rest;
}

/// A year from now, so that due dates are never in the past.
inline int next_year() {
  using namespace std::chrono;
  const year_month_day today(floor<days>(system_clock::now()));
  return static_cast<int>(today.year()) + 1;
}

/// A valid single-option position of entity A's TARI service, 120.00 euro, one transfer.
inline nlohmann::json single_position(long long cents = 12000,
                                      const std::string& service = "TARI") {
  const std::string due = std::to_string(next_year()) + "-12-31";
  return {
      {"debtor", {{"type", "F"}, {"fiscalCode", "RSSMRA80A01H501U"}, {"fullName", "Mario Rossi"}}},
      {"description", "TARI " + std::to_string(next_year() - 1)},
      {"serviceCode", service},
      {"referenceYear", next_year() - 1},
      {"paymentOptions",
       {{{"kind", "SINGLE"},
         {"amount", cents},
         {"dueDate", due},
         {"description", "Rata unica"},
         {"transfers",
          {{{"index", 1}, {"amount", cents}, {"remittanceInformation", "TARI rata unica"}}}}}}}};
}

class api_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test_support::pg_available()) GTEST_SKIP() << test_support::pg_unavailable_reason();
    db_ = std::make_unique<test_support::test_database>();
    for (const char* app : {"tributi", "tributi-2", "mensa", "altrove", "slow"}) {
      keys_[app] = api::generate_api_key();
    }
    apps_dir_ = std::filesystem::temp_directory_path() /
                ("pagohub-apps-" + std::to_string(::getpid()) + "-" + db_->name());
    std::filesystem::create_directories(apps_dir_);
    daemon_options o;
    o.conninfo = db_->conninfo();
    // Larger than the API routes' own 1 MB, so that their limit is the one tested.
    o.max_body_bytes = 8 << 20;
    o.applications_dir = apps_dir_;
    o.extra_toml = extra_toml();
    daemon_ = std::make_unique<daemon_process>(o);
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    ASSERT_EQ(poll_status(daemon_->port(), "/readyz", 200, std::chrono::seconds(30)), 200u)
        << daemon_->log();
  }

  void TearDown() override {
    daemon_.reset();
    std::error_code ec;
    if (!apps_dir_.empty()) std::filesystem::remove_all(apps_dir_, ec);
  }

  std::string extra_toml() const {
    const auto app = [&](const std::string& id, const std::string& fc, const std::string& more) {
      return "[[application]]\nid = \"" + id + "\"\nname = \"" + id + "\"\nentities = [\"" + fc +
             "\"]\napi_key_hashes = [\"" + keys_.at(id).hash_line + "\"]\n" + more + "\n";
    };
    return "[api]\nrate_per_second = 1000\nburst = 1000\n\n"
           "[[entity]]\nfiscal_code = \"" +
           entity_b +
           "\"\nname = \"Comune di Altrove\"\nsegregation_code = 2\n"
           "[[entity.iban]]\niban = \"" +
           iban_b +
           "\"\n[[entity.service]]\ncode = \"TARI\"\ndescription = \"TARI\"\n"
           "taxonomy = \"9/0101002IM/\"\ndefault_ibans = [\"" +
           iban_b + "\"]\n\n" + app("tributi", entity_a, "") + app("tributi-2", entity_a, "") +
           app("mensa", entity_a, "services = [\"MENSA\"]\n") + app("altrove", entity_b, "") +
           app("slow", entity_a, "rate_per_second = 1\nburst = 2\n");
  }

  /// One request with `key` as a bearer token (no Authorization header when `key` is empty).
  http_reply call(beast_http::verb method, const std::string& target, const std::string& key,
                  const std::string& body = {},
                  std::map<std::string, std::string> headers = {}) const {
    if (!key.empty()) headers["Authorization"] = "Bearer " + key;
    if (!body.empty()) headers["Content-Type"] = "application/json";
    return http_request(daemon_->port(), method, target, body, headers);
  }

  /// Shorthands with the key of application `app`.
  http_reply put(const std::string& app, const std::string& fc, const std::string& external_id,
                 const nlohmann::json& body) const {
    return call(beast_http::verb::put, api_path(fc, "/positions/" + external_id), key(app),
                body.dump());
  }
  http_reply get(const std::string& app, const std::string& target) const {
    return call(beast_http::verb::get, target, key(app));
  }

  const std::string& key(const std::string& app) const { return keys_.at(app).key; }

  static nlohmann::json json_of(const http_reply& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  /// The external ids listed for `app` on `fc` (all pages).
  std::vector<std::string> listed(const std::string& app, const std::string& fc) const {
    std::vector<std::string> out;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      const auto r = get(
          app, api_path(fc, "/positions?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor)));
      EXPECT_EQ(r.status, 200u) << r.body;
      const auto j = json_of(r);
      for (const auto& item : j["items"]) out.push_back(item["externalId"].get<std::string>());
      if (j["nextCursor"].is_null()) break;
      cursor = j["nextCursor"].get<std::string>();
    }
    return out;
  }

  std::unique_ptr<test_support::test_database> db_;
  std::map<std::string, api::new_api_key> keys_;
  std::filesystem::path apps_dir_;
  std::unique_ptr<daemon_process> daemon_;
};

/// The errors[] paths of a problem answer.
inline std::vector<std::string> error_paths(const http_reply& r) {
  std::vector<std::string> out;
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("errors"))
    for (const auto& e : j["errors"]) out.push_back(e["path"].get<std::string>());
  return out;
}

/// The code of the error at `path`, or "" when there is none.
inline std::string error_code_at(const http_reply& r, const std::string& path) {
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("errors"))
    for (const auto& e : j["errors"])
      if (e["path"] == path) return e["code"].get<std::string>();
  return {};
}

}  // namespace pagohub::test
