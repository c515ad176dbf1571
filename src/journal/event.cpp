#include <pagohub/journal/event.hpp>

#include <algorithm>
#include <chrono>

namespace pagohub::journal {

std::string_view to_string(category c) noexcept {
  return c == category::interfaccia ? "INTERFACCIA" : "INTERNO";
}

std::string_view to_string(interface_kind k) noexcept {
  switch (k) {
    case interface_kind::rest:
      return "rest";
    case interface_kind::soap_pa:
      return "soap_pa";
    case interface_kind::soap_nodo:
      return "soap_nodo";
    case interface_kind::webhook:
      return "webhook";
    case interface_kind::import:
      return "import";
    case interface_kind::internal:
      return "internal";
  }
  return "internal";
}

bool event::is_error() const noexcept {
  if (!outcome.empty() && outcome != "OK") return true;
  if (http_status && *http_status >= 400) return true;
  return !fault_code.empty();
}

std::pair<event, event> make_events(exchange x) {
  if (x.outcome.empty()) {
    const bool failed = (x.http_status && *x.http_status >= 400) || !x.fault_code.empty();
    x.outcome = failed ? "KO" : "OK";
  }
  event req;
  req.cat = x.cat;
  req.interface = x.interface;
  req.component = x.component;
  req.type = x.type;
  req.entity_fc = x.entity_fc;
  req.iuv = x.iuv;
  req.ccp = x.ccp;
  req.psp_id = x.psp_id;
  req.payment_type = x.payment_type;
  req.station_id = x.station_id;
  req.channel_id = x.channel_id;
  req.notice_number = x.notice_number;
  req.interface_params = x.interface_params;
  req.caller_id = x.caller_id;
  req.provider_id = x.provider_id;
  req.request_id = x.request_id;
  req.by = x.by;
  req.outcome = x.outcome;
  event rsp = req;
  req.subtype = "req";
  req.time = x.started;
  req.message = std::move(x.request);
  rsp.subtype = "rsp";
  rsp.time = x.finished;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(x.finished - x.started).count();
  rsp.duration_ms = static_cast<int>(std::max<long long>(0, ms));
  rsp.http_status = x.http_status;
  rsp.fault_code = x.fault_code;
  rsp.message = std::move(x.response);
  return {std::move(req), std::move(rsp)};
}

}  // namespace pagohub::journal
