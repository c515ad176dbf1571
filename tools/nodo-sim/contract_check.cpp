#include "contract_check.hpp"

#include <pagohub/nodo/soap_message_check.hpp>
#include <pagohub/nodo/xsd_validator.hpp>

#include <stdexcept>

namespace pagohub::nodo_sim {

namespace {

constexpr std::string_view ppt_ns = "http://ws.pagamenti.telematici.gov/";
constexpr std::string_view ppthead_ns = "http://ws.pagamenti.telematici.gov/ppthead";

}  // namespace

struct contract_check::impl {
  std::shared_ptr<const nodo::xsd_schema> envelope, ppthead, nodo_per_pa, avvisi;
};

contract_check::contract_check(const std::filesystem::path& dir) : impl_(std::make_unique<impl>()) {
  impl_->envelope = nodo::xsd_schema::from_file(dir / "xsd-common" / "envelope.xsd");
  const auto nodo = dir / "gad" / "wsdl" / "NodoPerPa.wsdl";
  impl_->ppthead = nodo::xsd_schema::from_wsdl(nodo, ppthead_ns);
  impl_->nodo_per_pa = nodo::xsd_schema::from_wsdl(nodo, ppt_ns);
  const auto avvisi = dir / "legacy-avvisatura" / "NodoPerPaAvvisiDigitali.wsdl";
  if (std::filesystem::exists(avvisi)) impl_->avvisi = nodo::xsd_schema::from_wsdl(avvisi, ppt_ns);
}

contract_check::~contract_check() = default;

std::string contract_check::check(std::string_view envelope) const {
  return nodo::check_soap_message(
      envelope, *impl_->envelope,
      [this](std::string_view ns, std::string_view name) -> const nodo::xsd_schema* {
        if (ns == ppthead_ns) return impl_->ppthead.get();
        if (ns != ppt_ns) return nullptr;
        return name.starts_with("nodoInviaAvvisoDigitale") && impl_->avvisi != nullptr
                   ? impl_->avvisi.get()
                   : impl_->nodo_per_pa.get();
      });
}

}  // namespace pagohub::nodo_sim
