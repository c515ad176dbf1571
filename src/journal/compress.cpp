#include "compress.hpp"

#include <zlib.h>

#include <stdexcept>

namespace pagohub::journal::detail {

std::string deflate(std::string_view data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  const int rc =
      compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()), 6);
  if (rc != Z_OK) throw std::runtime_error("zlib compress2 failed: " + std::to_string(rc));
  out.resize(size);
  return out;
}

std::optional<std::string> inflate(std::string_view stream, std::size_t size) {
  std::string out(size, '\0');
  uLongf got = static_cast<uLongf>(size);
  // uncompress needs a non-null destination even for an empty result.
  Bytef empty = 0;
  const int rc =
      uncompress(size == 0 ? &empty : reinterpret_cast<Bytef*>(out.data()), &got,
                 reinterpret_cast<const Bytef*>(stream.data()), static_cast<uLong>(stream.size()));
  if (rc != Z_OK || got != size) return std::nullopt;
  return out;
}

}  // namespace pagohub::journal::detail
