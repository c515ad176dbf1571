// The NDJSON line decoder of bulk imports: one position per line, as the REST body.
#include <pagohub/api/imports.hpp>

#include "position_json.hpp"
#include "strict_json.hpp"

namespace pagohub::api {

imports::decoded_line decode_import_line(std::string_view line) {
  imports::decoded_line out;
  const auto to_domain = [&](std::vector<http::field_error>&& errors) {
    for (auto& e : errors) {
      out.errors.push_back({std::move(e.path), std::move(e.code), std::move(e.message)});
    }
  };
  auto doc = parse_strict_json(line);
  if (!doc) {
    auto problem = std::move(doc).error();
    if (problem.errors.empty()) problem.errors.push_back({"", "invalid", "is not valid JSON"});
    to_domain(std::move(problem.errors));
    return out;
  }
  if (!doc->is_object()) {
    out.errors.push_back({"", "invalid", "a line must be a JSON object: one position"});
    return out;
  }
  // "operation" is the file's, not the position's: taken out before the position is decoded.
  if (auto it = doc->find("operation"); it != doc->end()) {
    if (!it->is_string() || (*it != "UPSERT" && *it != "CANCEL")) {
      out.errors.push_back({"/operation", "invalid", "must be \"UPSERT\" or \"CANCEL\""});
      return out;
    }
    out.op = *it == "CANCEL" ? imports::row_op::cancel : imports::row_op::upsert;
    doc->erase(it);
  }
  if (out.op == imports::row_op::cancel) {
    // As many unknown members as the line has bytes: counted past the first ones, not listed.
    error_list errors;
    for (const auto& [name, value] : doc->items()) {
      if (name != "externalId") {
        errors.add("/" + json_pointer_token(name), "unknown_member",
                   "a CANCEL line has only \"operation\" and \"externalId\"");
      }
    }
    const auto id = doc->find("externalId");
    if (id == doc->end() || !id->is_string()) {
      errors.add("/externalId", "required", "is required (a string)");
    } else {
      out.pos.external_id = id->get<std::string>();
    }
    to_domain(errors.take());
    return out;
  }
  auto decoded = decode_position_document(*doc, "");
  if (!decoded) {
    to_domain(std::move(decoded.error().errors));
    if (auto id = doc->find("externalId"); id != doc->end() && id->is_string()) {
      out.pos.external_id = id->get<std::string>();
    }
    return out;
  }
  out.pos = std::move(*decoded);
  return out;
}

}  // namespace pagohub::api
