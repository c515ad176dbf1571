#pragma once
// When a job runs: every fixed period, or once a day at a fixed UTC time. A schedule cuts time
// into slots; a slot is named by its start, and each slot is run once across all daemons
// sharing the database (the lease in job_leases remembers the last slot done).
#include <chrono>
#include <string>

namespace pagohub::jobs {

/// A periodic or daily schedule.
class schedule {
 public:
  using time_point = std::chrono::system_clock::time_point;

  /// Every `period` (at least one second), aligned to the Unix epoch, so that every daemon
  /// computes the same slots: a period of one hour runs at hh:00:00 UTC. Throws
  /// std::invalid_argument for a period shorter than one second.
  static schedule every(std::chrono::seconds period);

  /// Once a day at hh:mm UTC. UTC rather than Europe/Rome: one slot per day even on the days
  /// the clocks change. Throws std::invalid_argument for an hour or minute out of range.
  static schedule daily_at(int hour, int minute);

  /// The start of the slot `t` falls in.
  time_point slot_of(time_point t) const;

  /// The start of the slot after the one `t` falls in.
  time_point next_slot(time_point t) const;

  /// The slot length (one day for daily schedules).
  std::chrono::seconds period() const noexcept { return period_; }

  /// "every 30s", "daily at 03:15 UTC".
  std::string describe() const;

 private:
  schedule(std::chrono::seconds period, std::chrono::seconds offset)
      : period_(period), offset_(offset) {}
  std::chrono::seconds period_;
  std::chrono::seconds offset_;  ///< daily: seconds after midnight UTC
};

}  // namespace pagohub::jobs
