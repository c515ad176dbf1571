// [[entity]], [[entity.iban]], [[entity.service]]: docs/config-reference.md.
#include <pagohub/core/fiscal_code.hpp>
#include <pagohub/core/iban.hpp>

#include <algorithm>
#include <regex>
#include <set>

#include "readers.hpp"

namespace pagohub::config::detail {
namespace {

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<iban_entry> read_ibans(const table_reader& er) {
  std::vector<iban_entry> out;
  const auto tables = er.table_array("iban");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const table_reader r(*tables[i], er.key_path("iban[" + std::to_string(i) + "]"), er.file(),
                         {"iban", "postal", "description"});
    const std::string text = r.required_string("iban");
    auto parsed = core::iban::parse(text);
    if (!parsed) r.fail("iban", "is not a valid IBAN: " + parsed.error().message);
    iban_entry entry{*std::move(parsed), r.boolean("postal").value_or(false),
                     r.string("description").value_or("")};
    // DIGEST §5: a postal account is one at Poste Italiane, ABI 07601.
    if (entry.postal && !entry.value.is_postal()) {
      r.fail("postal", "is true but the IBAN is not a Poste Italiane account (ABI 07601)");
    }
    if (entry.description.size() > 140) r.fail("description", "is longer than 140 characters");
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (out[j].value == entry.value) {
        r.fail("iban", "duplicate IBAN, already listed as iban[" + std::to_string(j) + "]");
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<service> read_services(const table_reader& er, const std::vector<iban_entry>& ibans) {
  // DIGEST §5 "Taxonomy": <prefix>/<tipoEnte 2><macroarea 2><tipoServizio 3><motivo>/; the
  // prefix is 9 except for SEPA Request-To-Pay services, which use 6, 7 or 8.
  static const std::regex taxonomy_pattern("[6-9]/[0-9]{7}(IM|TS|SP|SA|AP)/");
  static const std::regex code_pattern("[A-Za-z0-9_.-]{1,35}");
  std::vector<service> out;
  const auto tables = er.table_array("service");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const table_reader r(*tables[i], er.key_path("service[" + std::to_string(i) + "]"), er.file(),
                         {"code", "description", "taxonomy", "default_ibans", "spontaneous",
                          "expires_after_due_date", "catalog_id", "demand_schema", "demand_amount",
                          "lookup", "lookup_budget_ms", "lookup_fallback_stored"});
    service s;
    s.code = r.required_string("code");
    if (!std::regex_match(s.code, code_pattern)) {
      r.fail("code", "must be 1..35 characters from letters, digits, '_', '.' and '-'");
    }
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (out[j].code == s.code) {
        r.fail("code",
               "duplicate service code, already used by service[" + std::to_string(j) + "]");
      }
    }
    s.description = r.required_string("description");
    if (s.description.size() > 140) r.fail("description", "is longer than 140 characters");
    s.taxonomy = r.required_string("taxonomy");
    if (!std::regex_match(s.taxonomy, taxonomy_pattern)) {
      r.fail("taxonomy",
             "must look like 9/0101002IM/: a prefix 6..9 and '/', seven digits, IM|TS|SP|SA|AP "
             "and '/'");
    }
    const auto defaults = r.string_array("default_ibans").value_or(std::vector<std::string>{});
    for (std::size_t k = 0; k < defaults.size(); ++k) {
      const std::string item = "default_ibans[" + std::to_string(k) + "]";
      auto parsed = core::iban::parse(defaults[k]);
      if (!parsed) r.fail(item, "is not a valid IBAN: " + parsed.error().message);
      const bool known = std::any_of(ibans.begin(), ibans.end(),
                                     [&](const iban_entry& e) { return e.value == *parsed; });
      if (!known) r.fail(item, "is not one of the entity's IBANs ([[entity.iban]])");
      if (std::find(s.default_ibans.begin(), s.default_ibans.end(), parsed->str()) !=
          s.default_ibans.end()) {
        r.fail(item, "is listed twice");
      }
      s.default_ibans.push_back(parsed->str());
    }
    s.spontaneous = r.boolean("spontaneous").value_or(false);
    s.expires_after_due_date = r.boolean("expires_after_due_date").value_or(false);
    // Payments on demand (DIGEST §1.4, §2.1 paaChiediNumeroAvviso): which catalogue service
    // this is, the schema of its datiSpecificiServizio and the amount of the position created.
    if (auto id = r.string("catalog_id")) {
      if (id->size() != 5)
        r.fail("catalog_id", "must be 5 characters (Catalogo Servizi idServizio)");
      s.catalog_id = *std::move(id);
    }
    if (auto schema = r.existing_file("demand_schema")) s.demand_schema = schema->string();
    s.demand_amount = r.integer("demand_amount", 1, 99'999'999'999).value_or(0);
    const bool demand = !s.demand_schema.empty() || s.demand_amount != 0 || !s.catalog_id.empty();
    if (demand && !s.spontaneous)
      r.fail("demand_schema", "payments on demand need spontaneous = true");
    if (demand && (s.demand_schema.empty() || s.demand_amount == 0)) {
      r.fail(s.demand_schema.empty() ? "demand_schema" : "demand_amount",
             "payments on demand need both demand_schema and demand_amount");
    }
    if (demand && s.default_ibans.empty()) {
      r.fail("default_ibans", "payments on demand need an IBAN to credit");
    }
    // On-demand positions (docs/integration.md): the integration id is checked against the
    // [[integration]] blocks where the registry is put together; here its form and the budget.
    // pagoPA expects a verify answered within 2 s (DIGEST §1.6); the gateway keeps 1.5 s, so the
    // lookup gets at most 1400 ms of it.
    if (auto id = r.string("lookup")) {
      static const std::regex id_pattern("[A-Za-z0-9_.-]{1,64}");
      if (!std::regex_match(*id, id_pattern)) {
        r.fail("lookup",
               "must be the id of an [[integration]] (1..64 letters, digits, '_', '.', '-')");
      }
      s.lookup = *std::move(id);
    }
    if (auto budget = r.integer("lookup_budget_ms", 50, 1400)) {
      if (s.lookup.empty()) r.fail("lookup_budget_ms", "needs lookup");
      s.lookup_budget_ms = *budget;
    }
    if (auto fallback = r.boolean("lookup_fallback_stored")) {
      if (s.lookup.empty()) r.fail("lookup_fallback_stored", "needs lookup");
      s.lookup_fallback_stored = *fallback;
    }
    // paDemandPaymentNotice names the service by its catalogue id: two services of one id
    // would leave one of them never chosen.
    if (!s.catalog_id.empty()) {
      for (const auto& other : out) {
        if (other.catalog_id == s.catalog_id)
          r.fail("catalog_id", "is also the catalog_id of service " + other.code);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

entity read_entity(const table_reader& r, const daemon_settings& defaults,
                   const nodo_settings& nodo) {
  const std::string code = r.required_string("fiscal_code");
  auto fiscal_code = core::entity_fiscal_code::parse(code);
  if (!fiscal_code) r.fail("fiscal_code", fiscal_code.error().message);
  entity e{.fiscal_code = *std::move(fiscal_code), .name = r.required_string("name")};
  if (e.name.size() > 140) r.fail("name", "is longer than 140 characters");

  // DIGEST §5 / SACI §2.2: aux 3 needs a segregation code, aux 0 an application code; the
  // other code has no meaning then, so setting it is a mistake worth reporting.
  e.aux_digit = static_cast<int>(r.integer("aux_digit", 0, 3).value_or(3));
  if (e.aux_digit != 0 && e.aux_digit != 3) {
    r.fail("aux_digit",
           "must be 3 (or 0 for a single-point configuration); 1 and 2 are not "
           "supported");
  }
  const auto segregation = r.integer("segregation_code", 0, 99);
  const auto application = r.integer("application_code", 0, 99);
  if (e.aux_digit == 3) {
    if (!segregation) r.fail("segregation_code", "is required when aux_digit is 3");
    if (application) r.fail("application_code", "applies only when aux_digit is 0");
    e.segregation_code = static_cast<int>(*segregation);
  } else {
    if (!application) r.fail("application_code", "is required when aux_digit is 0");
    if (segregation) r.fail("segregation_code", "applies only when aux_digit is 3");
    e.application_code = static_cast<int>(*application);
  }

  e.broker_id = r.string("broker_id").value_or(defaults.broker_id);
  if (e.broker_id.empty()) r.fail("broker_id", "is required here or in [daemon]");
  if (auto parsed = core::entity_fiscal_code::parse(e.broker_id); !parsed) {
    r.fail("broker_id", "is not a valid fiscal code: " + parsed.error().message);
  }
  e.station_id = r.string("station_id").value_or(defaults.station_id);
  if (e.station_id.empty()) r.fail("station_id", "is required here or in [daemon]");
  if (auto problem = station_id_problem(e.station_id, e.broker_id); !problem.empty()) {
    r.fail(r.has("station_id") ? "station_id" : "broker_id",
           r.has("station_id") ? problem : "does not match the station id " + e.station_id);
  }
  // The old-model calls for this entity go out under its station, with that station's password.
  // [daemon]'s station was checked with [nodo].
  if (auto problem = station_password_problem(nodo, e.station_id); !problem.empty()) {
    r.fail("station_id", problem);
  }

  e.enabled = r.boolean("enabled").value_or(true);
  if (auto account = r.string("postal_account")) {
    // The Poste "conto corrente postale" number, printed on notices (DIGEST §5 data matrix).
    if (account->size() != 12 || !all_digits(*account)) {
      r.fail("postal_account", "must be 12 digits (zero-padded on the left)");
    }
    e.postal_account = *account;
  }
  e.ibans = read_ibans(r);
  e.services = read_services(r, e.ibans);
  return e;
}

}  // namespace

void read_entities(const table_reader& root, const daemon_settings& defaults,
                   const nodo_settings& nodo, entity_collector& out) {
  if (root.has("entity") && root.node("entity")->is_table()) {
    root.fail("entity", "must be an array of tables: write [[entity]], not [entity]");
  }
  const auto tables = root.table_array("entity");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const table_reader r(
        *tables[i], "entity[" + std::to_string(i) + "]", root.file(),
        {"fiscal_code", "name", "segregation_code", "aux_digit", "application_code", "station_id",
         "broker_id", "enabled", "postal_account", "iban", "service"});
    entity e = read_entity(r, defaults, nodo);
    const std::string where = root.file().path.string() + ": " + r.key_path("fiscal_code");
    const auto [it, inserted] = out.seen.emplace(e.fiscal_code.str(), where);
    if (!inserted) r.fail("fiscal_code", "duplicate entity, already defined at " + it->second);
    out.entities.push_back(std::move(e));
  }
}

}  // namespace pagohub::config::detail
