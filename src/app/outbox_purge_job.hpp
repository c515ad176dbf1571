#pragma once
// The integration.outbox-purge job (docs/integration.md "Retention").

#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/jobs/scheduler.hpp>

namespace pagohub::app {

/// integration.outbox-purge, daily: deletes the outbox messages DELIVERED or DEAD more than
/// `retention_days` days ago, with their attempts (integration::purge_finished).
jobs::job_spec outbox_purge_job(db::executor& db, const core::clock& clock, int retention_days);

}  // namespace pagohub::app
