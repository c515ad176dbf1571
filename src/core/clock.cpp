#include <pagohub/core/clock.hpp>

namespace pagohub::core {

clock::time_point fixed_clock::now() const {
  const std::lock_guard lock(mutex_);
  return now_;
}

void fixed_clock::set(time_point t) {
  const std::lock_guard lock(mutex_);
  now_ = t;
}

void fixed_clock::advance(std::chrono::system_clock::duration d) {
  const std::lock_guard lock(mutex_);
  now_ += d;
}

}  // namespace pagohub::core
