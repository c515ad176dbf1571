// libFuzzer target: any bytes as a bulk-import CSV file (docs/api/bulk-csv.md), through the
// streaming pass as the import runs it: the reader, the header's layout, the rows grouped into
// positions, and the judging of each by the positions rules. A back-office's file is untrusted
// input; every outcome but a crash, leak or undefined behaviour is a per-row report.
#include <pagohub/imports/csv_format.hpp>
#include <pagohub/imports/csv_reader.hpp>
#include <pagohub/imports/judge.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "positions/sample.hpp"

namespace {

namespace t = pagohub::positions::testing;
using namespace pagohub;

struct world {
  config::entity entity = t::own_entity();
  config::entity_registry registry = t::registry();
  config::application app;
  world() {
    app.id = "tributi";
    app.entities = {t::own_fc};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const world w;
  // A small record limit, so that the fuzzer reaches the "record too long" paths.
  imports::csv_reader reader(
      imports::string_source(std::string(reinterpret_cast<const char*>(data), size)), 4096);
  const auto header = reader.read_header();
  if (!header || !header->error.empty()) return 0;
  const auto layout = imports::csv_layout::from_header(header->fields);
  if (!layout) return 0;
  const imports::judge_context ctx{w.entity, w.registry, w.app, t::ymd(2025, 1, 1),
                                   imports::file_format::csv};
  imports::csv_position_builder builder(*layout,
                                        [&](imports::parsed_position&& p) { judge(p, ctx); });
  imports::csv_reader::record r;
  while (reader.next(r)) builder.add(r);
  builder.finish();
  return 0;
}
