#include "gpux/fix/decimal_text.h"

#include <cstdio>

namespace gpux {
namespace fix {

// FIX prices travel as text and are read digit by digit.
bool parse_micro(const std::string& text, std::int64_t& out) {
  std::int64_t whole = 0;
  std::int64_t fraction = 0;
  int fraction_digits = 0;
  bool seen_point = false;
  bool seen_digit = false;
  for (char c : text) {
    if (c == '.' && !seen_point) {
      seen_point = true;
    } else if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (seen_point) {
        if (++fraction_digits > 6) return false;
        fraction = fraction * 10 + (c - '0');
      } else {
        if (whole > 1000000000000LL) return false;  // beyond any band
        whole = whole * 10 + (c - '0');
      }
    } else {
      return false;
    }
  }
  if (!seen_digit) return false;
  while (fraction_digits++ < 6)
    fraction *= 10;
  out = whole * 1000000 + fraction;
  return true;
}

bool parse_quantity(const std::string& text, std::int64_t& out) {
  std::int64_t micro = 0;
  if (!parse_micro(text, micro) || micro % 1000000 != 0) return false;
  out = micro / 1000000;
  return true;
}

std::string decimal(std::int64_t micro) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%s%lld.%06lld", micro < 0 ? "-" : "",
                static_cast<long long>((micro < 0 ? -micro : micro) / 1000000),
                static_cast<long long>((micro < 0 ? -micro : micro) % 1000000));
  return buffer;
}

}  // namespace fix
}  // namespace gpux
