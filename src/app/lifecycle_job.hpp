#pragma once
// The positions.lifecycle job: moves positions along their lifecycle as dates pass
// (docs/positions.md "Lifecycle"): PUBLISHED -> VALID on the validity date, and VALID ->
// EXPIRED after the due date for services configured with expires_after_due_date.
#include <pagohub/config/entity.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/jobs/scheduler.hpp>

namespace pagohub::app {

/// The job, every 5 minutes. Reads the entity registry afresh on each run, so a reload that
/// turns expiry on or off applies at the next run.
jobs::job_spec lifecycle_job(db::executor& db, const config::registry_holder& registry,
                             const core::clock& clock);

}  // namespace pagohub::app
