#include "pool_metrics.hpp"

#include <pagohub/http/metrics.hpp>

namespace pagohub::app {

void append_pool_metrics(std::string& out, const db::pool_stats& shared,
                         std::initializer_list<db::pool_stats> others) {
  db::pool_stats s = shared;
  for (const auto& o : others) {
    s.transactions += o.transactions;
    s.retries += o.retries;
    s.reconnects += o.reconnects;
    s.failures += o.failures;
    s.rollbacks += o.rollbacks;
    s.withdrawn += o.withdrawn;
    s.cancelled += o.cancelled;
  }
  using http::append_counter;
  using http::append_gauge;
  append_gauge(out, "pagohub_db_pool_size", "Connections in the DB pool.", s.size);
  append_gauge(out, "pagohub_db_pool_in_use", "Connections running a transaction now.", s.in_use);
  append_gauge(out, "pagohub_db_pool_waiting", "Transactions waiting for a connection.", s.waiting);
  append_counter(out, "pagohub_db_transactions_total", "Transactions committed or failed.",
                 s.transactions);
  append_counter(out, "pagohub_db_retries_total",
                 "Transactions retried (serialization, reconnect).", s.retries);
  append_counter(out, "pagohub_db_reconnects_total", "Connections re-established.", s.reconnects);
  append_counter(out, "pagohub_db_failures_total", "Transactions that failed after retries.",
                 s.failures);
  append_counter(out, "pagohub_db_rollbacks_total",
                 "Transactions rolled back on purpose: a refusal found after some writes.",
                 s.rollbacks);
  append_counter(out, "pagohub_db_withdrawn_total",
                 "Transactions withdrawn unstarted: no connection became free before their "
                 "deadline.",
                 s.withdrawn);
  append_counter(out, "pagohub_db_cancelled_total",
                 "Transactions cancelled and rolled back: still running at their deadline.",
                 s.cancelled);
  append_gauge(out, "pagohub_db_up", "1 when the last contact with the database succeeded.",
               s.connected ? 1 : 0);
}

void append_side_pool_metrics(std::string& out, const char* name, const char* doing,
                              const char* who, const db::pool_stats& s) {
  const std::string metric = std::string("pagohub_db_") + name + "_pool_";
  http::append_gauge(out, metric + "in_use",
                     std::string("Connections of the ") + name + " pool " + doing + " now.",
                     s.in_use);
  http::append_gauge(out, metric + "waiting",
                     std::string(who) + " waiting for a connection of their pool.", s.waiting);
}

}  // namespace pagohub::app
