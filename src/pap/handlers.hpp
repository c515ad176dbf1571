#pragma once
// The operation handlers behind the SOAP endpoints: each takes its decoded request and answers
// with the response envelope plus what the journal records about the exchange.
#include <pagohub/nodo/xsd_validator.hpp>
#include <pagohub/pap/endpoints.hpp>
#include <pagohub/pap/faults.hpp>
#include <pagohub/pap/messages.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "station_checks.hpp"

namespace pagohub::pap {

/// The SANP fields of an exchange (DIGEST §7) and its answer.
struct handled {
  std::string xml;                  ///< the response envelope
  std::optional<fault_bean> fault;  ///< set when the answer is KO
  std::string entity_fc, iuv, ccp, psp_id, channel_id, notice_number;
  bool changed_state = false;  ///< the exchange changed something (journal: never dropped)
};

/// A service schema (datiSpecificiServizio) compiled, and its target namespace.
struct compiled_schema {
  std::shared_ptr<const nodo::xsd_schema> schema;
  std::string target_namespace;
};

/// Compiles the schema at `path`; throws std::runtime_error when it is not a valid schema.
compiled_schema compile_service_schema(const std::string& path);

/// Compiled service schemas, by path, compiled on first use and again when the file changed
/// (its modification time or size): an admin who edits a schema in place and reloads gets it.
class schema_cache {
 public:
  /// The schema at `path` and its target namespace; throws std::runtime_error when it is not a
  /// valid schema (a configuration problem: the caller answers PAA_SYSTEM_ERROR).
  std::pair<std::shared_ptr<const nodo::xsd_schema>, std::string> get(const std::string& path);

 private:
  struct entry {
    compiled_schema compiled;
    std::filesystem::file_time_type modified;
    std::uintmax_t size = 0;
  };
  std::mutex mutex_;
  std::map<std::string, entry> schemas_;
};

/// Answers per operation and outcome, for /metrics.
struct operation_counters {
  static constexpr std::size_t operations = 12;
  std::atomic<std::uint64_t> ok[operations] = {};
  std::atomic<std::uint64_t> ko[operations] = {};
  std::atomic<std::uint64_t> refused{0};  ///< not an answer of any operation (SOAP faults, 403)
};

/// Everything a handler may use; one per router.
struct handler_context {
  explicit handler_context(endpoint_deps d) : deps(std::move(d)) {}

  operation_counters counters;

  endpoint_deps deps;
  station_identity self;
  std::shared_ptr<const nodo::xsd_schema> rt_schema;  ///< PagInf_RPT_RT_6_2_0.xsd
  schema_cache service_schemas;
};

/// Per-request facts.
struct request_info {
  std::string request_id;
  std::string_view raw;  ///< the request body as received (the request outlives the handler)
  /// When the request arrived: the Nodo's time (DIGEST §8) counts from here.
  std::chrono::steady_clock::time_point received{};
};

using boost::asio::awaitable;

// Current model (current_model.cpp).
awaitable<handled> handle_verify(handler_context& hc, const request_info& ri,
                                 const verify_request& rq);
awaitable<handled> handle_get_payment(handler_context& hc, const request_info& ri,
                                      const get_payment_request& rq);
awaitable<handled> handle_send_rt(handler_context& hc, const request_info& ri,
                                  const send_rt_request& rq);
// Payments on demand (demand.cpp).
awaitable<handled> handle_demand(handler_context& hc, const request_info& ri,
                                 const demand_request& rq);
awaitable<handled> handle_chiedi_numero_avviso(handler_context& hc, const request_info& ri,
                                               const chiedi_numero_avviso_request& rq);
// 2018 model (old_model.cpp).
awaitable<handled> handle_verifica_rpt(handler_context& hc, const request_info& ri,
                                       const verifica_rpt_request& rq);
awaitable<handled> handle_attiva_rpt(handler_context& hc, const request_info& ri,
                                     const attiva_rpt_request& rq);
awaitable<handled> handle_invia_rt(handler_context& hc, const request_info& ri,
                                   const invia_rt_request& rq);
handled handle_refund(handler_context& hc, operation op, const refund_request& rq);

/// A KO answer of `op` with `fault`.
handled fault_answer(operation op, fault_bean fault, std::string entity_fc = {});

/// The notice number an old-model IUV stands for at this entity (DIGEST §5): aux 3 for a
/// 17-digit IUV, aux 0 with the entity's application code for a 15-digit one.
std::optional<std::string> notice_of_iuv(const config::entity& e, std::string_view iuv);

}  // namespace pagohub::pap
