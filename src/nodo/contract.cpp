#include <pagohub/nodo/contract.hpp>

namespace pagohub::nodo {

namespace detail {
extern const contract_file contract_files[];
}

std::optional<std::string_view> contract_text(std::string_view path) {
  for (const contract_file* f = detail::contract_files; f->path != nullptr; ++f)
    if (path == f->path) return std::string_view(f->content);
  return std::nullopt;
}

std::vector<contract_file> contract_files() {
  std::vector<contract_file> out;
  for (const contract_file* f = detail::contract_files; f->path != nullptr; ++f) out.push_back(*f);
  return out;
}

}  // namespace pagohub::nodo
