#pragma once
// The position behind a notice number, as the SOAP adapters need it, in one prepared statement
// (the hot path of paVerifyPaymentNotice, paGetPayment and paSendRT: pagoPA expects answers
// within 2 s for 98 % of calls, DIGEST §1.6). positions::find_by_notice loads the whole
// position with four statements planned on every call; here one statement, planned once per
// connection, returns the position's fields and the one option with its transfers as JSON.
#include <pagohub/pap/endpoints.hpp>
#include <pagohub/pap/faults.hpp>
#include <pagohub/positions/model.hpp>

#include <boost/asio/awaitable.hpp>

#include <pqxx/transaction_base>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::pap {

/// The position with the option whose notice number is `notice_number` (that option only, with
/// its transfers; no accounting lines), or nullopt. Scoped to `entity_fc`.
std::optional<positions::position> find_notice(pqxx::transaction_base& w,
                                               std::string_view entity_fc,
                                               std::string_view notice_number);

/// The notice number of `entity_fc`'s option whose IUV is `iuv`, or nullopt. IUVs are unique per
/// entity (payment_options_iuv_key) whatever notice space they were issued in: the 2018 model
/// names a notice by its IUV, and the number the entity's space makes of it (notice_of_iuv)
/// misses a notice issued before that space changed (a move from aux digit 0 to 3 leaves
/// 15-digit IUVs with no application code to complete them).
std::optional<std::string> stored_notice_of_iuv(pqxx::transaction_base& w,
                                                std::string_view entity_fc, std::string_view iuv);

/// The on-demand step after find_notice: when deps.on_demand is set, lets it replace `found`
/// (a position fetched from the back-office, or none); a failure is the PAA_SYSTEM_ERROR fault
/// to answer with (id `entity`'s fiscal code). Without a resolver, nothing happens.
boost::asio::awaitable<std::optional<fault_bean>> consult_on_demand(
    const endpoint_deps& deps, const config::entity& entity, const std::string& notice_number,
    std::optional<positions::position>& found, const std::string& request_id,
    std::chrono::steady_clock::time_point received);

}  // namespace pagohub::pap
