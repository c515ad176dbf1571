#include <pagohub/app/cli.hpp>
#include <pagohub/app/daemon.hpp>

#include "logging.hpp"
#include "migrate_step.hpp"
#include "version.hpp"

#include <pagohub/api/api_key.hpp>
#include <pagohub/config/config.hpp>
#include <pagohub/db/migrations.hpp>
#include <pagohub/journal/chain.hpp>
#include <pagohub/pap/endpoints.hpp>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::app {

namespace {

constexpr const char* usage_text = R"(usage: pagohubd [COMMAND] [--config FILE]

pagohub connects creditor entities to pagoPA through one intermediary station.

commands:
  run            serve (the default)
  migrate        apply pending database migrations and exit
  check-config   validate the configuration, print a summary (no secrets) and exit
  apikey new [--application ID]
                 print a new back-office API key (shown only this once) and the hash line
                 to configure; needs no configuration file
  journal verify --from YYYY-MM [--to YYYY-MM]
                 recompute the event journal's hash chains of those months and report the
                 first broken link (exit 1) or OK (exit 0)

options:
  --config FILE  configuration file (default: $PAGOHUB_CONFIG, else /etc/pagohub/pagohub.toml)
  --version      print the version and exit
  --help         print this text and exit

signals (run): SIGTERM/SIGINT stop gracefully; SIGHUP reloads the entity registry.
exit codes: 0 done, 1 runtime failure, 2 bad command line or configuration.
)";

struct command_line {
  std::string command = "run";
  std::string config_file;
  bool help = false;
  bool version = false;
};

std::optional<command_line> parse(int argc, char** argv, std::string& problem) {
  command_line cl;
  if (const char* env = std::getenv("PAGOHUB_CONFIG"); env && *env) cl.config_file = env;
  if (cl.config_file.empty()) cl.config_file = "/etc/pagohub/pagohub.toml";
  bool command_seen = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      cl.help = true;
    } else if (arg == "--version" || arg == "-V") {
      cl.version = true;
    } else if (arg == "--config" || arg == "-c") {
      if (i + 1 >= argc) {
        problem = "--config needs a file";
        return std::nullopt;
      }
      cl.config_file = argv[++i];
    } else if (arg.starts_with("--config=")) {
      cl.config_file = arg.substr(9);
    } else if (!arg.starts_with("-") && !command_seen) {
      if (arg != "run" && arg != "migrate" && arg != "check-config") {
        problem = "unknown command '" + arg + "'";
        return std::nullopt;
      }
      cl.command = arg;
      command_seen = true;
    } else {
      problem = "unexpected argument '" + arg + "'";
      return std::nullopt;
    }
  }
  return cl;
}

int run_migrate(const config::config& cfg) {
  auto migrations = db::load_migrations(cfg.daemon.paths.sql_dir);
  pqxx::connection c(
      db::standalone_conninfo(cfg.daemon.db.conninfo, cfg.daemon.db.connect_timeout));
  auto report = db::migrate(c, migrations);
  std::cout << "applied " << report.applied << " migration(s); schema version "
            << report.current_version << "\n";
  return 0;
}

// `pagohubd apikey new [--application ID]`: stdout holds exactly two lines, the key and its hash
// line, so scripts can read them; the advice goes to stderr. Only the hash is ever configured.
int run_apikey(int argc, char** argv) {
  std::string application;
  bool is_new = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "new" && !is_new) {
      is_new = true;
    } else if (arg == "--application" && i + 1 < argc) {
      application = argv[++i];
    } else if (arg.starts_with("--application=")) {
      application = std::string(arg.substr(14));
    } else {
      std::cerr << "pagohubd: usage: pagohubd apikey new [--application ID]\n";
      return 2;
    }
  }
  const bool valid_id =
      application.size() <= 40 &&
      application.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
  if (!is_new || !valid_id) {
    std::cerr << "pagohubd: usage: pagohubd apikey new [--application ID]"
              << (valid_id ? "" : " (ID: 1..40 characters from a-z, 0-9 and '-')") << "\n";
    return 2;
  }
  const auto made = api::generate_api_key();
  std::cout << made.key << "\n" << made.hash_line << "\n";
  std::cerr << "\nThe first line is the API key: give it to the back-office system now, it is not "
               "stored anywhere\nand cannot be shown again. The second line is its hash: add it "
               "to the application's\napi_key_hashes (or to its api_key_hashes_file) and reload "
               "pagohubd (SIGHUP).\n";
  if (!application.empty()) {
    std::cerr << "\n[[application]]\nid = \"" << application << "\"\n# ...\napi_key_hashes = [\""
              << made.hash_line << "\"]\n";
  }
  return 0;
}

// `pagohubd journal verify --from YYYY-MM [--to YYYY-MM] [--config FILE]`: reads only.
int run_journal(int argc, char** argv) {
  std::vector<std::string> args;
  std::string config_file;
  if (const char* env = std::getenv("PAGOHUB_CONFIG"); env && *env) config_file = env;
  if (config_file.empty()) config_file = "/etc/pagohub/pagohub.toml";
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) {
      config_file = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_file = arg.substr(9);
    } else {
      args.push_back(arg);
    }
  }
  std::optional<config::config> cfg;
  try {
    cfg = config::load(config_file);
  } catch (const config::config_error& e) {
    std::cerr << "pagohubd: configuration error: " << e.what() << "\n";
    return 2;
  }
  try {
    return journal::run_command(cfg->daemon.db.conninfo, args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "pagohubd journal: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "apikey") return run_apikey(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "journal") return run_journal(argc, argv);
  std::string problem;
  auto cl = parse(argc, argv, problem);
  if (!cl) {
    std::cerr << "pagohubd: " << problem << "\n\n" << usage_text;
    return 2;
  }
  if (cl->help) {
    std::cout << usage_text;
    return 0;
  }
  if (cl->version) {
    std::cout << "pagohubd " << version_string() << "\n";
    return 0;
  }

  std::optional<config::config> cfg;
  try {
    cfg = config::load(cl->config_file);
    // check-config reports a service schema that does not compile as the daemon would.
    if (cl->command == "check-config") pap::check_demand_schemas(*cfg->entities);
  } catch (const config::config_error& e) {
    std::cerr << "pagohubd: configuration error: " << e.what() << "\n";
    return 2;
  }
  if (cl->command == "check-config") {
    std::cout << config::describe(*cfg);
    return 0;
  }

  try {
    setup_logging(cfg->daemon.logging.level, cfg->daemon.logging.format);
    if (cl->command == "migrate") return run_migrate(*cfg);
    daemon d(std::move(*cfg));
    return d.run();
  } catch (const db::migration_error& e) {
    spdlog::critical("{}", e.what());
    spdlog::default_logger()->flush();
    return 1;
  } catch (const std::exception& e) {
    spdlog::critical("pagohubd: {}", e.what());
    spdlog::default_logger()->flush();
    return 1;
  }
}

}  // namespace pagohub::app
