#pragma once
// The pap.held-receipts job (docs/pagopa.md "Receipts").

#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/jobs/scheduler.hpp>

namespace pagohub::journal {
class payload_rules;
}  // namespace pagohub::journal

namespace pagohub::app {

/// pap.held-receipts: applies the receipts stored held because their position stayed locked
/// while they were delivered (pap::apply_held_receipts, docs/pagopa.md "Receipts").
jobs::job_spec held_receipts_job(db::executor& db, const journal::payload_rules& rules,
                                 const core::clock& clock);

}  // namespace pagohub::app
