#include <pagohub/positions/dates.hpp>

#include <chrono>
#include <cstdio>

namespace pagohub::positions {

namespace {
// Europe/Rome's offset from UTC at `s`. EU rule (Directive 2000/84/EC): summer time from 01:00
// UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October. Neither switch is
// near a year boundary, so the UTC year is the right one to take the two Sundays from.
std::chrono::hours rome_offset(std::chrono::sys_seconds s) noexcept {
  using namespace std::chrono;
  const year y = year_month_day(floor<days>(s)).year();
  const sys_seconds summer_from = sys_days(y / March / Sunday[last]) + hours(1);
  const sys_seconds summer_to = sys_days(y / October / Sunday[last]) + hours(1);
  return (s >= summer_from && s < summer_to) ? hours(2) : hours(1);
}
}  // namespace

date rome_date(timestamp t) noexcept {
  using namespace std::chrono;
  const auto s = floor<seconds>(t);
  return year_month_day(floor<days>(s + rome_offset(s)));
}

std::string rome_date_time(timestamp t) {
  using namespace std::chrono;
  const auto s = floor<seconds>(t);
  const auto local = s + rome_offset(s);
  const auto day = floor<days>(local);
  const hh_mm_ss hms{local - day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return format_date(year_month_day(day)) + buf;
}

std::string format_date(date d) {
  const int y = static_cast<int>(d.year());
  const unsigned m = static_cast<unsigned>(d.month());
  const unsigned dd = static_cast<unsigned>(d.day());
  std::string out(10, '0');
  out[0] = static_cast<char>('0' + (y / 1000) % 10);
  out[1] = static_cast<char>('0' + (y / 100) % 10);
  out[2] = static_cast<char>('0' + (y / 10) % 10);
  out[3] = static_cast<char>('0' + y % 10);
  out[4] = '-';
  out[5] = static_cast<char>('0' + m / 10);
  out[6] = static_cast<char>('0' + m % 10);
  out[7] = '-';
  out[8] = static_cast<char>('0' + dd / 10);
  out[9] = static_cast<char>('0' + dd % 10);
  return out;
}

std::optional<date> parse_date(std::string_view text) noexcept {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int fields[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8};
  const std::size_t lengths[3] = {4, 2, 2};
  for (int f = 0; f < 3; ++f) {
    for (std::size_t i = 0; i < lengths[f]; ++i) {
      const char c = text[starts[f] + i];
      if (c < '0' || c > '9') return std::nullopt;
      fields[f] = fields[f] * 10 + (c - '0');
    }
  }
  const date d{std::chrono::year(fields[0]), std::chrono::month(static_cast<unsigned>(fields[1])),
               std::chrono::day(static_cast<unsigned>(fields[2]))};
  if (!d.ok()) return std::nullopt;
  return d;
}

}  // namespace pagohub::positions
