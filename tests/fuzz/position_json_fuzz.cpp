// libFuzzer target: any bytes as the JSON body of PUT/POST .../positions (and an NDJSON import
// line): the strict JSON parse, the decoding into a position, normalisation and every rule of
// positions::validate, then the response encoding of what was decoded. A back-office's request
// is untrusted input; anything but a crash, leak or undefined behaviour is a problem+json.
#include <pagohub/positions/validation.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "position_json.hpp"
#include "positions/sample.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace t = pagohub::positions::testing;
  using namespace pagohub;
  static const config::entity entity = t::own_entity();
  static const config::entity_registry registry = t::registry();
  auto decoded = api::decode_position(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!decoded) return 0;
  positions::position& p = *decoded;
  p.external_id = "fuzz-1";
  positions::normalize(p, entity);
  (void)positions::validate(
      p, positions::validation_context{entity, registry, t::ymd(2025, 1, 1), true});
  (void)api::encode_position(p).dump();
  return 0;
}
