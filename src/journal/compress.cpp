#include "compress.hpp"

#include <zlib.h>

#include <limits>
#include <stdexcept>

namespace pagohub::journal::detail {

namespace {

// One deflate state per thread, reset between bodies: compress2 allocates and clears about
// 256 KB of state per call, which for the journal's bodies of a few KB costs more than the
// compression itself. The output is the same zlib stream compress2 makes, so stored payloads
// read back unchanged.
class deflater {
 public:
  deflater() {
    if (deflateInit(&z_, 6) != Z_OK) throw std::runtime_error("zlib deflateInit failed");
  }
  ~deflater() { deflateEnd(&z_); }
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;

  std::string run(std::string_view data) {
    if (deflateReset(&z_) != Z_OK) throw std::runtime_error("zlib deflateReset failed");
    std::string out(deflateBound(&z_, static_cast<uLong>(data.size())), '\0');
    // zlib's interface is not const-correct; deflate only reads next_in.
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    // deflateBound guarantees room for the whole stream in one call.
    const int rc = ::deflate(&z_, Z_FINISH);
    if (rc != Z_STREAM_END) throw std::runtime_error("zlib deflate failed: " + std::to_string(rc));
    out.resize(z_.total_out);
    return out;
  }

 private:
  z_stream z_{};
};

}  // namespace

std::string deflate(std::string_view data) {
  if (data.size() > std::numeric_limits<uInt>::max() / 2) {
    throw std::length_error("journal body too large to compress");
  }
  thread_local deflater d;
  return d.run(data);
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
