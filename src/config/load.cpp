#include <pagohub/config/config.hpp>

#include <algorithm>

#include "readers.hpp"

namespace pagohub::config {

config_error::config_error(std::string in_file, std::string at_key, std::string why)
    : std::runtime_error(at_key.empty() ? in_file + ": " + why
                                        : in_file + ": " + at_key + ": " + why),
      file(std::move(in_file)),
      key(std::move(at_key)),
      reason(std::move(why)) {}

namespace {

detail::table_reader root_reader(const toml::table& table, const detail::source_file& src) {
  return detail::table_reader(
      table, "", src,
      {"daemon", "listener", "db", "limits", "logging", "paths", "entity", "application", "api",
       "journal", "pap", "imports", "integration", "nodo", "outbox"});
}

detail::source_file source_of(const std::filesystem::path& file) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(file, ec);
  if (ec) absolute = file;
  absolute = absolute.lexically_normal();
  return {absolute, absolute.parent_path()};
}

toml::table parse_file(const detail::source_file& src) {
  std::string error;
  const auto text = detail::read_file(src.path, error);
  if (!text) throw config_error(src.path.string(), "", "cannot read the file: " + error);
  try {
    return toml::parse(*text, src.path.string());
  } catch (const toml::parse_error& e) {
    // toml++ says where. Its description may quote the offending character, one reason why
    // secrets belong in *_file or *_env rather than inline.
    const auto& where = e.source().begin;
    throw config_error(src.path.string(), "",
                       "not valid TOML at line " + std::to_string(where.line) + ", column " +
                           std::to_string(where.column) + ": " + std::string(e.description()));
  }
}

// The entity files: *.toml directly inside the directory, in name order so that the
// "already defined" message is stable.
std::vector<std::filesystem::path> entity_files(const std::filesystem::path& dir,
                                                const detail::source_file& main) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
    if (item.path().extension() == ".toml" && item.is_regular_file(ec)) {
      files.push_back(item.path().lexically_normal());
    }
  }
  if (ec) {
    throw config_error(main.path.string(), "paths.entities_dir",
                       "cannot list directory " + dir.string() + ": " + ec.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::shared_ptr<const entity_registry> read_registry(const detail::source_file& main,
                                                     const toml::table& main_root,
                                                     const daemon_settings& settings,
                                                     const nodo_settings& nodo) {
  detail::entity_collector collector;
  // Only the entity array is read here; the other root tables are the daemon settings.
  const detail::table_reader root = root_reader(main_root, main);
  detail::read_entities(root, settings, nodo, collector);
  if (!settings.paths.entities_dir.empty()) {
    for (const auto& path : entity_files(settings.paths.entities_dir, main)) {
      const detail::source_file src = source_of(path);
      const toml::table table = parse_file(src);
      const detail::table_reader file_root(table, "", src, {"entity"});
      detail::read_entities(file_root, settings, nodo, collector);
    }
  }
  detail::warn_unused_stations(main, nodo, settings, collector.entities);
  return std::make_shared<const entity_registry>(std::move(collector.entities));
}

// The application files: *.toml directly inside paths.applications_dir, in name order. A missing
// directory reads as empty (read_paths warned about it at start).
std::vector<std::filesystem::path> application_files(const std::filesystem::path& dir,
                                                     const detail::source_file& main) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return {};
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
    if (item.path().extension() == ".toml" && item.is_regular_file(ec)) {
      files.push_back(item.path().lexically_normal());
    }
  }
  if (ec) {
    throw config_error(main.path.string(), "paths.applications_dir",
                       "cannot list directory " + dir.string() + ": " + ec.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::shared_ptr<const application_registry> read_applications(
    const detail::source_file& main, const toml::table& main_root, const daemon_settings& settings,
    std::shared_ptr<const entity_registry> entities) {
  detail::application_collector collector;
  const detail::table_reader root = root_reader(main_root, main);
  detail::read_applications(root, settings, *entities, collector);
  if (!settings.paths.applications_dir.empty()) {
    for (const auto& path : application_files(settings.paths.applications_dir, main)) {
      const detail::source_file src = source_of(path);
      const toml::table table = parse_file(src);
      // [[integration]] tables may sit beside the application they route for.
      const detail::table_reader file_root(table, "", src, {"application", "integration"});
      detail::read_applications(file_root, settings, *entities, collector);
    }
  }
  return std::make_shared<const application_registry>(std::move(collector.apps),
                                                      std::move(entities));
}

// [[integration]] tables of the main file, then of the application files, checked against the
// entities and applications they route for.
std::shared_ptr<const integration_registry> read_integrations(const detail::source_file& main,
                                                              const toml::table& main_root,
                                                              const daemon_settings& settings,
                                                              const application_registry& apps) {
  detail::integration_collector collector;
  const detail::table_reader root = root_reader(main_root, main);
  detail::read_integrations(root, apps.entities(), apps, collector);
  if (!settings.paths.applications_dir.empty()) {
    for (const auto& path : application_files(settings.paths.applications_dir, main)) {
      const detail::source_file src = source_of(path);
      const toml::table table = parse_file(src);
      const detail::table_reader file_root(table, "", src, {"application", "integration"});
      detail::read_integrations(file_root, apps.entities(), apps, collector);
    }
  }
  // The integrations services look up their positions through: a runtime override must not
  // take them out of push (integration_override.cpp), whenever it was set.
  for (auto& item : collector.items) {
    for (const auto& e : apps.entities().all()) {
      for (const auto& svc : e.services) {
        if (svc.lookup == item.id && item.lookup_of.empty())
          item.lookup_of = "service " + svc.code + " of entity " + e.fiscal_code.str();
      }
    }
  }
  auto registry = std::make_shared<const integration_registry>(std::move(collector.items));
  // Services with on-demand lookups name an integration: it must exist, push, and serve the
  // service's entity (the entity files are read before the integrations, so the check is here).
  for (const auto& e : apps.entities().all()) {
    for (const auto& svc : e.services) {
      if (svc.lookup.empty()) continue;
      const std::string key = "entity " + e.fiscal_code.str() + " service " + svc.code + ": lookup";
      const integration* i = registry->find(svc.lookup);
      if (i == nullptr) {
        throw config_error(main.path.string(), key,
                           "integration " + svc.lookup + " is not defined");
      }
      if (i->mode != integration_mode::push) {
        throw config_error(main.path.string(), key,
                           "integration " + svc.lookup + " must have mode = \"push\"");
      }
      if (std::find(i->entities.begin(), i->entities.end(), e.fiscal_code.str()) ==
          i->entities.end()) {
        throw config_error(
            main.path.string(), key,
            "integration " + svc.lookup + " does not serve entity " + e.fiscal_code.str());
      }
      // The positions a lookup stores are its application's, as if that application had loaded
      // them over REST: it must be named, and granted the entity and the service, or a
      // back-office could store positions through a lookup that its API key may not write.
      if (i->application.empty()) {
        throw config_error(main.path.string(), key,
                           "integration " + svc.lookup +
                               " names no application to own the positions its lookups store");
      }
      const application* owner = apps.find(i->application);
      if (owner == nullptr || !owner->grants_entity(e.fiscal_code.str()) ||
          !owner->grants_service(svc.code)) {
        throw config_error(main.path.string(), key,
                           "application " + i->application + " of integration " + svc.lookup +
                               " is not granted entity " + e.fiscal_code.str() + " and service " +
                               svc.code);
      }
    }
  }
  return registry;
}

}  // namespace

config load(const std::filesystem::path& file) {
  const detail::source_file main = source_of(file);
  const toml::table table = parse_file(main);
  const detail::table_reader root = root_reader(table, main);
  config cfg;
  cfg.file = main.path;
  cfg.daemon = detail::read_daemon_settings(root);
  cfg.nodo = detail::read_nodo(root, cfg.daemon);
  cfg.entities = read_registry(main, table, cfg.daemon, cfg.nodo);
  cfg.applications = read_applications(main, table, cfg.daemon, cfg.entities);
  cfg.integrations = read_integrations(main, table, cfg.daemon, *cfg.applications);
  return cfg;
}

std::shared_ptr<const entity_registry> load_entities(const config& cfg) {
  const detail::source_file main = source_of(cfg.file);
  const toml::table table = parse_file(main);
  return read_registry(main, table, cfg.daemon, cfg.nodo);
}

std::shared_ptr<const application_registry> load_applications(
    const config& cfg, std::shared_ptr<const entity_registry> entities) {
  const detail::source_file main = source_of(cfg.file);
  const toml::table table = parse_file(main);
  return read_applications(main, table, cfg.daemon, std::move(entities));
}

std::shared_ptr<const integration_registry> load_integrations(
    const config& cfg, const application_registry& applications) {
  const detail::source_file main = source_of(cfg.file);
  const toml::table table = parse_file(main);
  return read_integrations(main, table, cfg.daemon, applications);
}

}  // namespace pagohub::config
