// The demand schemas checked before they serve: one that does not compile, or two of an entity
// with one target namespace, is a configuration error; a schema edited in place is read again.
#include <pagohub/config/error.hpp>
#include <pagohub/pap/endpoints.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "fixtures.hpp"
#include "handlers.hpp"

namespace pagohub::pap {
namespace {

using namespace testing;

class demand_schemas : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("pagohub-demand-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  static std::string schema_of(const std::string& target, const std::string& element) {
    return "<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"" +
           target + "\"><xsd:element name=\"" + element + "\" type=\"xsd:string\"/></xsd:schema>";
  }

  config::entity with_services(const std::vector<std::string>& schemas) {
    auto e = entity();
    int n = 0;
    for (const auto& path : schemas) {
      config::service s;
      s.code = "SPONT" + std::to_string(++n);
      s.spontaneous = true;
      s.demand_schema = path;
      s.demand_amount = 100;
      e.services.push_back(s);
    }
    return e;
  }

  std::filesystem::path dir_;
};

TEST_F(demand_schemas, valid_schemas_pass) {
  const config::entity_registry registry({with_services(
      {write("a.xsd", schema_of("urn:a", "a")), write("b.xsd", schema_of("urn:b", "b"))})});
  EXPECT_NO_THROW(check_demand_schemas(registry));
}

TEST_F(demand_schemas, one_that_does_not_compile_is_refused_with_its_service) {
  const std::string broken = write("broken.xsd", "<xsd:schema xmlns:xsd=\"http://www.w3.org/20");
  const config::entity_registry registry(
      {with_services({write("a.xsd", schema_of("urn:a", "a")), broken})});
  try {
    check_demand_schemas(registry);
    FAIL() << "a broken schema passed";
  } catch (const config::config_error& e) {
    EXPECT_EQ(e.file, broken);
    EXPECT_NE(e.key.find("service SPONT2: demand_schema"), std::string::npos) << e.key;
  }
}

TEST_F(demand_schemas, two_with_one_target_namespace_are_refused) {
  const config::entity_registry registry({with_services(
      {write("a.xsd", schema_of("urn:same", "a")), write("b.xsd", schema_of("urn:same", "b"))})});
  EXPECT_THROW(check_demand_schemas(registry), config::config_error);
}

TEST_F(demand_schemas, a_schema_edited_in_place_is_compiled_again) {
  const std::string path = write("a.xsd", schema_of("urn:first", "a"));
  schema_cache cache;
  EXPECT_EQ(cache.get(path).second, "urn:first");
  // Another size: seen as changed whatever the file system's time resolution.
  write("a.xsd", schema_of("urn:second-version", "a"));
  EXPECT_EQ(cache.get(path).second, "urn:second-version");
}

}  // namespace
}  // namespace pagohub::pap
