#pragma once
// Instants to and from SQL as bigint microseconds since the Unix epoch (db/sql_time.hpp).
#include <pagohub/db/sql_time.hpp>

namespace pagohub::imports::detail {

using db::from_micros;
using db::micros_of;
using db::to_micros;
using db::ts_param;

}  // namespace pagohub::imports::detail
