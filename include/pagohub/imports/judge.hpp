#pragma once
// Judging one parsed position of an import file by the same rules as the REST API
// (positions::normalize and positions::validate), plus what the uploading application may do.
// Runs in the processor's streaming pass, one position at a time, with no I/O: the rules that
// need the database (duplicates across the file, the state of stored positions, due dates in
// the past for new positions, notice numbers taken) are checked later, in SQL, for the whole
// file at once (docs/imports.md).
#include <pagohub/config/application.hpp>
#include <pagohub/config/entity.hpp>
#include <pagohub/imports/model.hpp>

namespace pagohub::imports {

struct judge_context {
  const config::entity& entity;
  const config::entity_registry& registry;  ///< for other beneficiaries' IBANs
  const config::application& application;   ///< its granted services
  positions::date today;                    ///< Europe/Rome
  file_format format;                       ///< CSV errors name columns, NDJSON ones members
};

/// Normalizes `p.pos` for `ctx.entity` and adds every rule it breaks to `p.errors`, placed on
/// the option (row) concerned, with paths in the format's terms. A CANCEL needs only a valid
/// external id. A position already broken while parsing is normalized but judged only for what
/// parsing could not see.
void judge(parsed_position& p, const judge_context& ctx);

}  // namespace pagohub::imports
