#pragma once
// Notice numbers (numero avviso) and IUVs made by pagohub for an entity: DIGEST §5, SACI §2.2.
//
// aux 3: `3 SS B13 CC` with the entity's segregation code SS; aux 0: `0 AA B13 CC` with its
// application code AA. B13 is a 13-digit progressive drawn from a PostgreSQL sequence of the
// entity's own, `notice_seq_<fiscal code>`; CC is the mod-93 check of the 16 digits before.
// A sequence never hands out a value twice, even to concurrent transactions, and never takes
// one back on rollback (a rolled-back load leaves a gap, which is harmless: IUVs need not be
// dense). The UNIQUE (entity, notice_number) and (entity, iuv) constraints of payment_options
// are the last word. docs/positions.md has the details and the SQL functions for bulk loads.
#include <pagohub/config/entity.hpp>
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/model.hpp>
#include <pqxx/dbtransaction>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::positions {

/// The two digits after `e`'s aux digit: its segregation code (aux 3) or application code (aux
/// 0). Throws std::invalid_argument when the entity has neither (config::load never builds such
/// an entity).
int notice_space_code(const config::entity& e);

/// The notice number for `progressive` (< 10^13) under `e`'s configuration: aux 3 with its
/// segregation code, or aux 0 with its application code. Throws std::invalid_argument when the
/// entity has neither (config::load never builds such an entity) or the progressive is out of
/// range.
core::notice_number format_notice_number(const config::entity& e, std::uint64_t progressive);

/// True when `n` lies in `e`'s notice space: aux digit 3 followed by its segregation code, or
/// aux digit 0 followed by its application code. Entity-supplied notice numbers must.
bool in_notice_space(const config::entity& e, const core::notice_number& n) noexcept;

/// `e`'s notice space in words, for errors: "aux digit 3 and segregation code 1".
std::string notice_space_description(const config::entity& e);

/// The notice numbers of `p`'s options that lie outside `e`'s notice space and are application
/// `application_id`'s own all the same: an option of its position `p.external_id` has the
/// number, or notice_owners records the application as the owner of its IUV (its option was
/// dropped since). Such a number was issued before the entity's space changed (a new
/// segregation code, a move from aux digit 0 to 3): a paper notice carries it, so the position
/// may keep it (validation_context::owns_notice). No round trip when every number is in the
/// space or does not parse (validation reports those).
std::set<std::string> owned_notices(pqxx::transaction_base& w, const config::entity& e,
                                    const std::string& application_id, const position& p);

/// Why an entity-supplied notice number is refused (409, or an import's `conflict` row), after
/// "notice number <n>": another position of the entity has it; or another application issued
/// it and its option was dropped since (sql/0031: the IUV stays that debt's).
inline constexpr std::string_view notice_in_use = " is already used by another position";
inline constexpr std::string_view notice_retired =
    " was issued by another application; its IUV stays that debt's";

/// "notice_seq_<fiscal code>": the name of the entity's progressive sequence, in the schema
/// the daemon's tables live in. Throws std::invalid_argument unless `entity_fc` is 11 digits.
std::string notice_sequence_name(std::string_view entity_fc);

/// Creates the entity's sequence if it does not exist yet (SQL `pagohub_notice_sequence`).
/// Safe to call concurrently. The creation is part of `w`: call it in a short transaction of
/// its own (at start-up, before a bulk load) so that a long transaction does not hold the
/// creation lock of a new entity's sequence until it commits.
void ensure_notice_sequence(pqxx::dbtransaction& w, std::string_view entity_fc);

/// `count` (0..100000) fresh notice numbers for `e`, in increasing progressive order, in one
/// round trip. Progressives whose notice number the entity already uses for a position of its
/// own (numbers it supplied itself) are skipped, so the result never collides with a stored
/// notice number, nor one of `excluded` (numbers the same write supplies for other options).
/// Creates the sequence on first use (see ensure_notice_sequence).
std::vector<core::notice_number> allocate_notice_numbers(
    pqxx::dbtransaction& w, const config::entity& e, int count,
    const std::set<std::string>& excluded = {});

}  // namespace pagohub::positions
