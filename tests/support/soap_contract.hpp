#pragma once
// Validates SOAP messages the tests send and receive against the official pagoPA contract
// (ARCHITECTURE §8): the XSD files, and the schemas inline in the 2018 model's WSDLs, of
// ../shared/pagopa-spec beside the repository. Without that folder the check is skipped with a
// visible message.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::test_support {

/// The folder of the official contract, when present (PAGOHUB_PAGOPA_SPEC, else
/// <source>/../shared/pagopa-spec).
std::optional<std::filesystem::path> pagopa_spec_dir();

class soap_contract {
 public:
  /// Loads the schemas; nullptr (with `why`) when the contract folder is absent.
  static std::unique_ptr<soap_contract> load(std::string& why);
  ~soap_contract();

  /// Checks `envelope`: a SOAP 1.1 envelope (envelope.xsd) whose body element, and
  /// intestazionePPT header when present, conform to their schema. Empty when valid, else the
  /// first problem. SOAP Fault bodies are checked against envelope.xsd only.
  std::string check(std::string_view envelope) const;

 private:
  struct impl;
  explicit soap_contract(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The process-wide contract (loaded once), or nullptr when absent.
const soap_contract* contract();

}  // namespace pagohub::test_support

/// In a test: expects `xml` to conform to the contract (skipping the check, once, with a
/// message when the contract folder is absent).
#define PAGOHUB_EXPECT_CONFORMS(xml)                                                 \
  do {                                                                               \
    if (const auto* pagohub_contract = ::pagohub::test_support::contract()) {        \
      const std::string pagohub_problem = pagohub_contract->check(xml);              \
      EXPECT_TRUE(pagohub_problem.empty()) << pagohub_problem << "\nin:\n" << (xml); \
    }                                                                                \
  } while (false)
