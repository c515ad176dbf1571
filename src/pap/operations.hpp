#pragma once
// The operation table behind name_of() and operation_named() (messages.hpp).
#include <pagohub/pap/messages.hpp>

#include <span>
#include <string_view>

namespace pagohub::pap {

struct operation_info {
  operation op;
  std::string_view name;              ///< SOAPAction and tipoEvento
  std::string_view request_element;   ///< qualified with the codec's prefix (pafn: / ppt:)
  std::string_view response_element;  ///< idem
};

const operation_info& info_of(operation op) noexcept;
std::span<const operation_info> all_operations() noexcept;

}  // namespace pagohub::pap
