#include <pagohub/imports/csv_format.hpp>
#include <pagohub/imports/judge.hpp>
#include <pagohub/positions/validation.hpp>

#include <algorithm>
#include <charconv>

namespace pagohub::imports {
namespace {

namespace codes = positions::error_codes;

// The option a REST path concerns: N of "/paymentOptions/N/...", else 0 (the position).
std::size_t option_of(std::string_view path, std::size_t options) {
  constexpr std::string_view prefix = "/paymentOptions/";
  if (!path.starts_with(prefix)) return 0;
  path.remove_prefix(prefix.size());
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(path.data(), path.data() + path.size(), n);
  if (ec != std::errc{} || n >= options) return 0;
  return n;
}

void check_external_id(parsed_position& p) {
  const std::string& id = p.pos.external_id;
  const bool ok = !id.empty() && id.size() <= 35 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' ||
           c == '_' || c == '-';
  });
  if (ok) return;
  p.errors[0].push_back({"/externalId", std::string(id.empty() ? codes::required : codes::invalid),
                         id.empty() ? "is required"
                                    : "must be 1..35 characters from letters, digits, '.', '_' "
                                      "and '-'"});
}

}  // namespace

void judge(parsed_position& p, const judge_context& ctx) {
  if (p.errors.empty()) p.errors.emplace_back();
  if (p.op == row_op::cancel) {
    check_external_id(p);
    return;
  }
  positions::normalize(p.pos, ctx.entity);
  // Due dates in the past are allowed for positions that already exist, and notice numbers
  // outside the entity's notice space for the application that issued them before the space
  // changed; both are known only in the database, where the load step applies the rules.
  positions::validation_context vc{ctx.entity, ctx.registry, ctx.today, false};
  vc.owns_notice = [](const std::string&) { return true; };
  const auto found = positions::validate(p.pos, vc);
  const std::size_t options = p.pos.options.size();
  if (p.errors.size() < std::max<std::size_t>(options, 1))
    p.errors.resize(std::max<std::size_t>(options, 1));
  for (const auto& e : found) {
    std::size_t option = option_of(e.path, options);
    std::string path = e.path;
    if (ctx.format == file_format::csv) {
      auto place = csv_place_of(e.path, p.pos);
      option = place.option < p.errors.size() ? place.option : 0;
      path = std::move(place.path);
    }
    // A value that did not parse was reported as such; its zero or empty stand-in adds nothing.
    auto& list = p.errors[option];
    const bool repeated = std::any_of(
        list.begin(), list.end(), [&](const positions::field_error& x) { return x.path == path; });
    if (!repeated) list.push_back({std::move(path), e.code, e.message});
  }
  if (!p.pos.service_code.empty() && !ctx.application.grants_service(p.pos.service_code)) {
    p.errors[0].push_back(
        {"/serviceCode", "forbidden",
         "service " + p.pos.service_code + " is not granted to application " + ctx.application.id});
  }
}

}  // namespace pagohub::imports
