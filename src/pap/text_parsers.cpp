#include "text_parsers.hpp"

#include <pagohub/positions/dates.hpp>

#include <charconv>
#include <cstdio>

namespace pagohub::pap {

namespace {

using namespace std::chrono;

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int number(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

sys_seconds last_sunday_0100_utc(int y, unsigned m) {
  const sys_days end_of_month{year{y} / month{m} / std::chrono::last};
  const sys_days sunday = end_of_month - (weekday{end_of_month} - Sunday);
  return sunday + hours{1};
}

}  // namespace

minutes rome_offset(positions::timestamp t) noexcept {
  const auto y = static_cast<int>(year_month_day{floor<days>(t)}.year());
  const bool summer = t >= last_sunday_0100_utc(y, 3) && t < last_sunday_0100_utc(y, 10);
  return summer ? minutes{120} : minutes{60};
}

std::optional<positions::timestamp> parse_xsd_datetime(std::string_view s) noexcept {
  if (s.size() < 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
  const auto date = positions::parse_date(s.substr(0, 10));
  const std::string_view hh = s.substr(11, 2), mi = s.substr(14, 2), ss = s.substr(17, 2);
  if (!date || !digits(hh) || !digits(mi) || !digits(ss)) return std::nullopt;
  const int h = number(hh), m = number(mi), sec = number(ss);
  if (h > 23 || m > 59 || sec > 59) return std::nullopt;
  std::string_view rest = s.substr(19);
  microseconds fraction{0};
  if (!rest.empty() && rest[0] == '.') {
    std::size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    const std::string_view f = rest.substr(1, n - 1);
    if (f.empty() || f.size() > 9) return std::nullopt;
    std::string six(f.substr(0, 6));
    six.resize(6, '0');
    fraction = microseconds{number(six)};
    rest = rest.substr(n);
  }
  const sys_time<microseconds> local =
      sys_days{*date} + hours{h} + minutes{m} + seconds{sec} + fraction;
  if (rest.empty()) {
    // Civil time in Rome: take the offset in force an hour either side, which only differs in
    // the ambiguous hour of the autumn change (then the earlier reading wins).
    const auto guess = local - minutes{60};
    const auto off = rome_offset(guess);
    return positions::timestamp{local - off};
  }
  if (rest == "Z") return positions::timestamp{local};
  if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' ||
      !digits(rest.substr(1, 2)) || !digits(rest.substr(4, 2))) {
    return std::nullopt;
  }
  const int oh = number(rest.substr(1, 2)), om = number(rest.substr(4, 2));
  if (oh > 14 || om > 59) return std::nullopt;
  const minutes off{oh * 60 + om};
  return positions::timestamp{rest[0] == '+' ? local - off : local + off};
}

std::string format_rome_datetime(positions::timestamp t) {
  const auto local = floor<seconds>(t) + rome_offset(t);
  const auto day = floor<days>(local);
  const year_month_day ymd{day};
  const hh_mm_ss hms{local - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

core::result<core::amount_cents> parse_amount(std::string_view text, bool at_least_cent) {
  auto cents = core::parse_decimal_amount(text);
  if (!cents) return cents;
  if (at_least_cent && *cents < 1)
    return core::fail(core::errc::invalid_input, "must be at least 0.01");
  return cents;
}

}  // namespace pagohub::pap
