#include "pg_raw.hpp"

#include <pqxx/except>

#include <memory>

namespace pagohub::imports::detail {
namespace {

struct result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

}  // namespace

raw_connection::raw_connection(const std::string& conninfo) {
  conn_ = PQconnectdb(conninfo.c_str());
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = conn_ ? PQerrorMessage(conn_) : "out of memory";
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw pqxx::broken_connection("cannot connect for the import: " + why);
  }
  cancel_ = PQgetCancel(conn_);
}

raw_connection::~raw_connection() {
  if (cancel_) PQfreeCancel(cancel_);
  if (conn_) PQfinish(conn_);
}

void raw_connection::fail(const std::string& what, const char* sql) {
  const std::string msg = what + ": " + PQerrorMessage(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) throw pqxx::broken_connection(msg);
  throw pqxx::sql_error(msg, sql ? sql : "");
}

void raw_connection::exec(const std::string& sql) {
  result_ptr r(PQexec(conn_, sql.c_str()));
  const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail("statement failed", sql.c_str());
}

std::optional<std::string> raw_connection::fetch_binary(const std::string& sql,
                                                        const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  result_ptr r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 1));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) fail("query failed", sql.c_str());
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return std::string(PQgetvalue(r.get(), 0, 0),
                     static_cast<std::size_t>(PQgetlength(r.get(), 0, 0)));
}

void raw_connection::send_query(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, 0) != 1) {
    fail("query could not be sent", sql.c_str());
  }
}

std::vector<std::optional<std::string>> raw_connection::receive_row() {
  result_ptr r(PQgetResult(conn_));
  while (result_ptr more{PQgetResult(conn_)}) {
  }
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) fail("query failed");
  std::vector<std::optional<std::string>> row;
  if (PQntuples(r.get()) == 0) return row;
  for (int i = 0; i < PQnfields(r.get()); ++i) {
    if (PQgetisnull(r.get(), 0, i)) {
      row.emplace_back();
    } else {
      row.emplace_back(std::string(PQgetvalue(r.get(), 0, i),
                                   static_cast<std::size_t>(PQgetlength(r.get(), 0, i))));
    }
  }
  return row;
}

void raw_connection::copy_begin(const std::string& copy_sql) {
  result_ptr r(PQexec(conn_, copy_sql.c_str()));
  if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN)
    fail("COPY could not start", copy_sql.c_str());
  copying_ = true;
}

void raw_connection::copy_send(std::string_view data) {
  if (data.empty()) return;
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) {
    fail("COPY data could not be sent");
  }
}

void raw_connection::copy_end() {
  copying_ = false;
  if (PQputCopyEnd(conn_, nullptr) != 1) fail("COPY could not be ended");
  result_ptr r(PQgetResult(conn_));
  const bool ok = r && PQresultStatus(r.get()) == PGRES_COMMAND_OK;
  // Drain: a COPY yields exactly one result, then null.
  while (result_ptr more{PQgetResult(conn_)}) {
  }
  if (!ok) fail("COPY failed");
}

void raw_connection::copy_abort(const std::string& why) noexcept {
  if (!copying_) return;
  copying_ = false;
  PQputCopyEnd(conn_, why.c_str());
  while (result_ptr r{PQgetResult(conn_)}) {
  }
}

void raw_connection::cancel() noexcept {
  if (!cancel_) return;
  char err[256];
  PQcancel(cancel_, err, sizeof err);
}

}  // namespace pagohub::imports::detail
