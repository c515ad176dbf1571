// Receipts as the REST API shows them (docs/api/backoffice.yaml: Receipt, ReceiptPage).
#include <pagohub/core/utc_time.hpp>
#include <pagohub/pap/receipts.hpp>
#include <pagohub/positions/dates.hpp>

#include <nlohmann/json.hpp>

namespace pagohub::pap {

namespace {

using nlohmann::json;

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json receipt_json(const stored_receipt& r) {
  const json details = json::parse(r.details_json, nullptr, false);
  const json accounting =
      r.accounting_json.empty() ? json::object() : json::parse(r.accounting_json, nullptr, false);
  json transfers = json::array();
  if (details.is_object() && details.contains("transfers")) {
    for (const auto& t : details["transfers"]) {
      const int index = t.value("idTransfer", 1);
      const std::string key = std::to_string(index);
      transfers.push_back(
          {{"index", index},
           {"beneficiaryFiscalCode", t.value("fiscalCodePA", "")},
           {"amount", t.value("amount", 0)},
           {"iban", t.contains("iban") ? t["iban"] : json(nullptr)},
           {"remittanceInformation", t.value("remittanceInformation", "")},
           {"taxonomy", t.contains("transferCategory") ? t["transferCategory"] : json(nullptr)},
           {"accounting",
            accounting.is_object() && accounting.contains(key) ? accounting[key] : json::array()}});
    }
  }
  json payer = nullptr;
  if (details.is_object() && details.contains("payer")) payer = details["payer"];
  return {
      {"receiptId", r.receipt_id},
      // null when the receipt names no notice number pagohub can place (an RT of the 2018 model
      // whose IUV is outside the entity's notice space): the Receipt schema's 18 digits or null.
      {"noticeNumber", or_null(r.notice_number)},
      {"iuv", r.iuv.value_or("")},
      {"outcome", r.outcome.value_or("OK")},
      {"amount", r.amount.value_or(0)},
      {"fee", or_null(r.fee)},
      {"paymentDateTime", core::format_utc(r.payment_date_time.value_or(r.received_at), 0)},
      {"applicationDate",
       r.application_date ? json(positions::format_date(*r.application_date)) : json(nullptr)},
      {"transferDate",
       r.transfer_date ? json(positions::format_date(*r.transfer_date)) : json(nullptr)},
      {"paymentMethod", or_null(r.payment_method)},
      {"psp",
       {{"id", r.psp_id.value_or("")},
        {"fiscalCode", or_null(r.psp_fiscal_code)},
        {"name", r.psp_name.value_or("")},
        {"channelId", r.channel_id.value_or("")}}},
      {"payer", payer},
      {"transfers", std::move(transfers)},
      {"standIn", r.stand_in},
      {"receivedAt", core::format_utc(r.received_at, 0)},
  };
}

}  // namespace

std::string to_json(const stored_receipt& r) {
  return receipt_json(r).dump();
}

std::string to_json(const receipt_page& page) {
  json items = json::array();
  for (const auto& r : page.items) items.push_back(receipt_json(r));
  return json{{"items", std::move(items)}, {"nextCursor", or_null(page.next_cursor)}}.dump();
}

}  // namespace pagohub::pap
