#include <pagohub/core/utc_time.hpp>

#include <algorithm>
#include <cstdio>

namespace pagohub::core {

std::string format_utc(std::chrono::sys_time<std::chrono::microseconds> us, int fraction_digits) {
  using namespace std::chrono;
  const auto day = floor<days>(us);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> hms{us - day};
  char text[48];
  const int n = std::snprintf(
      text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
      static_cast<int>(hms.seconds().count()));
  std::string out(text, static_cast<std::size_t>(n));
  const int digits = std::clamp(fraction_digits, 0, 6);
  if (digits > 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, "%06lld", static_cast<long long>(hms.subseconds().count()));
    out += '.';
    out.append(frac, static_cast<std::size_t>(digits));
  }
  out += 'Z';
  return out;
}

}  // namespace pagohub::core
