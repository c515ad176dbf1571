#include <pagohub/core/utc_time.hpp>

#include <algorithm>
#include <cstdio>

namespace pagohub::core {

std::string format_utc(std::chrono::sys_time<std::chrono::microseconds> us, int fraction_digits) {
  using namespace std::chrono;
  const auto day = floor<days>(us);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> hms{us - day};
  const int digits = std::clamp(fraction_digits, 0, 6);
  const int year = static_cast<int>(ymd.year());
  // Digits written in place: every REST answer and every sealed journal event formats times,
  // and two snprintf calls took a few per cent of the daemon's CPU.
  char text[40];
  char* p = text;
  const auto put = [&p](long long v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  if (year >= 0 && year <= 9999) {
    put(year, 4);
  } else {
    p += std::snprintf(p, 12, "%04d", year);
  }
  *p++ = '-';
  put(static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  put(static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  put(hms.hours().count(), 2);
  *p++ = ':';
  put(hms.minutes().count(), 2);
  *p++ = ':';
  put(hms.seconds().count(), 2);
  if (digits > 0) {
    // Truncated, not rounded, to the digits asked.
    static constexpr long long scale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    *p++ = '.';
    put(hms.subseconds().count() / scale[6 - digits], digits);
  }
  *p++ = 'Z';
  return std::string(text, p);
}

}  // namespace pagohub::core
