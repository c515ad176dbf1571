// How the writer reads a failed write: only the rows' own faults make it write them one by one;
// every other failure keeps the batch for a retry, so that no event is lost to a database
// that is merely unwell.
#include <gtest/gtest.h>

#include "pagohub/journal/writer.hpp"

namespace {

using pagohub::journal::classify_write_failure;
using pagohub::journal::write_failure;

TEST(journal_write_failure, data_and_integrity_errors_are_the_rows_fault) {
  for (const char* state : {"22001", "22021", "22P02", "22023", "23502", "23505", "23514"})
    EXPECT_EQ(classify_write_failure(state), write_failure::row) << state;
}

TEST(journal_write_failure, everything_else_is_the_databases_and_is_retried) {
  for (const char* state : {
           "53100",  // disk full
           "53200",  // out of memory
           "53300",  // too many connections
           "57014",  // statement timeout, query cancelled
           "55P03",  // lock_timeout
           "25006",  // read-only transaction (a standby after failover)
           "40001",  // serialization failure past the executor's retries
           "40P01",  // deadlock past the executor's retries
           "57P01",  // administrator shutdown
           "58030",  // I/O error
           "08006",  // connection failure
           "42501",  // insufficient privilege: a grant to fix, not a row to drop
           "42P01",  // undefined table: a schema to fix
           "XX000",  // internal error
           "",       // no answer from the server at all
       })
    EXPECT_EQ(classify_write_failure(state), write_failure::retry) << '"' << state << '"';
}

}  // namespace
