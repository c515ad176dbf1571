#include <pagohub/jobs/schedule.hpp>

#include <stdexcept>

namespace pagohub::jobs {
namespace {

using std::chrono::seconds;

// Floor division: slots before 1970 are not expected, but the arithmetic stays right for them.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string two_digits(std::int64_t n) {
  return (n < 10 ? "0" : "") + std::to_string(n);
}

}  // namespace

schedule schedule::every(seconds period) {
  if (period < seconds(1)) throw std::invalid_argument("a job period must be at least 1 second");
  return schedule(period, seconds(0));
}

schedule schedule::daily_at(int hour, int minute) {
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59)
    throw std::invalid_argument("a daily job time must be 00:00..23:59");
  return schedule(seconds(86'400), seconds(hour * 3600 + minute * 60));
}

schedule::time_point schedule::slot_of(time_point t) const {
  const auto s = std::chrono::floor<seconds>(t.time_since_epoch()).count() - offset_.count();
  const auto n = floor_div(s, period_.count());
  return time_point(seconds(n * period_.count() + offset_.count()));
}

schedule::time_point schedule::next_slot(time_point t) const {
  return slot_of(t) + period_;
}

std::string schedule::describe() const {
  if (period_ == seconds(86'400))
    return "daily at " + two_digits(offset_.count() / 3600) + ":" +
           two_digits(offset_.count() % 3600 / 60) + " UTC";
  const auto p = period_.count();
  if (p % 3600 == 0) return "every " + std::to_string(p / 3600) + "h";
  if (p % 60 == 0) return "every " + std::to_string(p / 60) + "m";
  return "every " + std::to_string(p) + "s";
}

}  // namespace pagohub::jobs
