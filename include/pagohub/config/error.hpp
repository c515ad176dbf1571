#pragma once
// Configuration errors stop start-up with file, key and reason (ARCHITECTURE §7).
#include <stdexcept>
#include <string>

namespace pagohub::config {

/// A bad configuration: `file` is the file at fault (the entity file when the error is
/// there), `key` the dotted path of the offending key (e.g. "listener[0].port",
/// "entity[1].iban[0].iban"; empty when the file as a whole is at fault) and `reason` a
/// sentence. `what()` is "file: key: reason" ("file: reason" without a key). Never carries a
/// secret value.
struct config_error : std::runtime_error {
  config_error(std::string in_file, std::string at_key, std::string why);

  std::string file;
  std::string key;
  std::string reason;
};

}  // namespace pagohub::config
