#pragma once
// Helpers for the validation tests: judge a position the way the API does (normalize, then
// validate) and look for one error by path and code.
#include <pagohub/positions/validation.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "unit/positions/sample.hpp"

namespace pagohub::positions::testing {

class validation_test : public ::testing::Test {
 protected:
  /// normalize + validate against own_entity(), today() and the three-entity registry.
  std::vector<field_error> judge(position p, bool is_new = true) {
    normalize(p, entity_);
    const validation_context ctx{entity_, registry_, today(), is_new};
    return validate(p, ctx);
  }

  std::vector<field_error> judge_as(const config::entity& e, position p, bool is_new = true) {
    normalize(p, e);
    const validation_context ctx{e, registry_, today(), is_new};
    return validate(p, ctx);
  }

  config::entity entity_ = own_entity();
  config::entity_registry registry_ = registry();
};

inline std::string describe(const std::vector<field_error>& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  " + e.path + " [" + e.code + "] " + e.message;
  return out.empty() ? " (none)" : out;
}

inline bool has_error(const std::vector<field_error>& errors, const std::string& path,
                      std::string_view code) {
  return std::any_of(errors.begin(), errors.end(),
                     [&](const field_error& e) { return e.path == path && e.code == code; });
}

}  // namespace pagohub::positions::testing

/// The position breaks exactly one rule: `path` with `code`.
#define EXPECT_ONLY_ERROR(errors, path, code)                                          \
  do {                                                                                 \
    const auto& errors_ = (errors);                                                    \
    EXPECT_EQ(errors_.size(), 1U) << ::pagohub::positions::testing::describe(errors_); \
    EXPECT_TRUE(::pagohub::positions::testing::has_error(errors_, path, code))         \
        << "expected " << (path) << " [" << (code) << "], got"                         \
        << ::pagohub::positions::testing::describe(errors_);                           \
  } while (false)

/// The position breaks no rule.
#define EXPECT_VALID(errors)                                                                       \
  do {                                                                                             \
    const auto& errors_ = (errors);                                                                \
    EXPECT_TRUE(errors_.empty()) << "errors:" << ::pagohub::positions::testing::describe(errors_); \
  } while (false)
