#include "pagohub/db/prepared.hpp"

#include <pqxx/connection_base>

#include <string>

namespace pagohub::db {

void prepare(pqxx::connection_base& c, const statement& s) {
  // libpqxx keeps the definitions per connection and prepares lazily, on first execution; an
  // identical redefinition is a no-op. A fresh connection (after a reconnect) starts empty.
  c.prepare(std::string(s.name), std::string(s.sql));
}

}  // namespace pagohub::db
