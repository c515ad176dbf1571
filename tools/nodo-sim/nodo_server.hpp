#pragma once
// nodo-sim's server mode: a real HTTP server (Beast, loopback) that answers the PA->Nodo
// primitives (DIGEST §1.5, §2.2, §2.6) from a script, with injectable faults and delays, and
// records every request it receives so that tests can check what a station sent
// (tools/nodo-sim/README.md describes the script).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pagohub::nodo_sim {

struct server_options {
  std::string address = "127.0.0.1";
  unsigned short port = 0;  ///< 0 = any free port
  /// A copy of the official contract: every request is checked against it when set.
  std::optional<std::filesystem::path> contract_dir;
};

/// One request received, as recorded (also the items of GET /_sim/requests).
struct recorded_request {
  std::string operation;    ///< body element's local name ("nodoInviaRPT")
  std::string key;          ///< what the script's by_key matches (see README)
  std::string path;         ///< request target
  std::string soap_action;  ///< header value, unquoted
  std::string body;
  nlohmann::json fields;       ///< simple fields of header and body, by local name
  std::string rpt;             ///< nodoInviaRPT: the RPT, decoded from base64
  std::optional<bool> valid;   ///< contract check (absent without a contract folder)
  std::string problem;         ///< first contract problem
  std::string answered_fault;  ///< the fault code answered, empty for OK
  unsigned answered_status = 200;
};

nlohmann::json to_json(const recorded_request& r);

class nodo_server {
 public:
  /// `script`: see README. Throws std::invalid_argument when it is not an object, or
  /// std::runtime_error when the contract folder cannot be loaded.
  explicit nodo_server(nlohmann::json script, server_options options = {});
  ~nodo_server();  // stops
  nodo_server(const nodo_server&) = delete;
  nodo_server& operator=(const nodo_server&) = delete;

  /// Binds and starts serving on a thread of its own; returns the port.
  unsigned short start();
  void stop();
  unsigned short port() const noexcept;

  /// Replaces the script (the sequence counters of `faults` restart).
  void set_script(nlohmann::json script);

  std::vector<recorded_request> requests() const;
  /// Requests of one operation.
  std::vector<recorded_request> requests(const std::string& operation) const;
  nlohmann::json requests_json() const;
  void clear_requests();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

/// Reads a script file (JSON). Throws std::runtime_error with the reason.
nlohmann::json load_script(const std::filesystem::path& file);

}  // namespace pagohub::nodo_sim
