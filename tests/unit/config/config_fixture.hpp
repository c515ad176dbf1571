#pragma once
// A throwaway directory holding a configuration file, the directories it names and any extra
// files a test writes; removed at the end of the test.
#include <pagohub/config/config.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace pagohub::config::testing {

/// A minimal valid main file, in parts a test can replace one at a time.
struct doc {
  std::string root{};  ///< root-level keys, before any table
  std::string daemon = "station_id = \"02468135799_01\"\nbroker_id = \"02468135799\"\n";
  std::string listeners = "[[listener]]\nname = \"main\"\nport = 8080\n";
  std::string db = "[db]\nconninfo = \"host=localhost dbname=pagohub\"\n";
  std::string paths = "sql_dir = \"sql\"\nweb_root = \"web\"\n";
  std::string tail{};  ///< more tables, e.g. [[entity]]

  std::string text() const {
    return root + "[daemon]\n" + daemon + listeners + db + "[paths]\n" + paths + tail;
  }
};

/// A valid entity, in parts.
struct entity_doc {
  std::string head =
      "fiscal_code = \"01234567897\"\nname = \"Comune di Esempio\"\nsegregation_code = 1\n"
      "postal_account = \"000012345678\"\n";
  std::string ibans =
      "[[entity.iban]]\niban = \"IT60X0542811101000000123456\"\ndescription = \"Tesoreria\"\n"
      "[[entity.iban]]\niban = \"IT22L0760101600000012345678\"\npostal = true\n";
  std::string services =
      "[[entity.service]]\ncode = \"TARI\"\ndescription = \"Tassa rifiuti\"\n"
      "taxonomy = \"9/0101002IM/\"\ndefault_ibans = [\"IT60X0542811101000000123456\"]\n";

  std::string text() const { return "[[entity]]\n" + head + ibans + services; }
};

class config_dir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pagohub-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::filesystem::create_directory(dir_ / "sql");
    std::filesystem::create_directory(dir_ / "web");
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// Writes `text` to `name` (relative to the directory) and returns the absolute path.
  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }

  std::filesystem::path main_file() const { return dir_ / "pagohub.toml"; }

  /// Writes the main file and loads it.
  config load_text(const std::string& text) {
    write("pagohub.toml", text);
    return load(main_file());
  }

  /// Writes the main file, loads it and returns the error it must raise.
  std::optional<config_error> error_of(const std::string& text) {
    write("pagohub.toml", text);
    try {
      (void)load(main_file());
    } catch (const config_error& e) {
      return e;
    }
    return std::nullopt;
  }

  /// The base document with `tail` appended must be refused, naming `key`; returns the error
  /// for further checks (nullopt, after a test failure, when it loaded).
  std::optional<config_error> expect_refused(const std::string& tail, const std::string& key) {
    doc d;
    d.tail = tail;
    auto e = error_of(d.text());
    EXPECT_TRUE(e) << tail;
    if (e) {
      EXPECT_EQ(e->key, key) << e->what();
    }
    return e;
  }

  std::filesystem::path dir_;
};

}  // namespace pagohub::config::testing
