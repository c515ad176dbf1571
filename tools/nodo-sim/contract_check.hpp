#pragma once
// nodo-sim's check of the requests a station sends the Nodo: the SOAP 1.1 envelope
// (envelope.xsd), intestazionePPT and the body element against the official schemas of a
// contract folder (NodoPerPa.wsdl's inline schemas, NodoPerPaAvvisiDigitali.wsdl's).
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace pagohub::nodo_sim {

class contract_check {
 public:
  /// Loads the schemas of `dir` (a copy of the pagoPA contract: xsd-common/, gad/wsdl/,
  /// legacy-avvisatura/). Throws std::runtime_error naming what cannot be loaded.
  explicit contract_check(const std::filesystem::path& dir);
  ~contract_check();
  contract_check(const contract_check&) = delete;
  contract_check& operator=(const contract_check&) = delete;

  /// Empty when `envelope` conforms, else the first problem. Thread-safe.
  std::string check(std::string_view envelope) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pagohub::nodo_sim
