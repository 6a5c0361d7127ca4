#include "gpux/fix/decimal_text.h"

#include <cstdio>

namespace gpux {
namespace fix {

// FIX prices travel as text and are read digit by digit.
DecimalText read_micro(const std::string& text, std::int64_t& out) {
  std::int64_t whole = 0;
  std::int64_t fraction = 0;
  int fraction_digits = 0;
  bool seen_point = false;
  bool seen_digit = false;
  bool too_large = false;
  bool too_many_places = false;
  for (char c : text) {
    if (c == '.' && !seen_point) {
      seen_point = true;
    } else if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (seen_point) {
        if (++fraction_digits > 6) {
          too_many_places = true;
          continue;
        }
        fraction = fraction * 10 + (c - '0');
      } else if (!too_large) {
        whole = whole * 10 + (c - '0');  // at most 10 * kMaxWhole + 9: no overflow
        too_large = whole > kMaxWhole;
      }
    } else {
      return DecimalText::malformed;
    }
  }
  if (!seen_digit) return DecimalText::malformed;
  if (too_many_places) return DecimalText::too_many_places;
  if (too_large) return DecimalText::too_large;
  for (int digits = fraction_digits; digits < 6; ++digits)
    fraction *= 10;
  out = whole * 1000000 + fraction;
  return DecimalText::ok;
}

DecimalText read_quantity(const std::string& text, std::int64_t& out) {
  std::int64_t micro = 0;
  const DecimalText read = read_micro(text, micro);
  if (read != DecimalText::ok) return read;
  if (micro % 1000000 != 0) return DecimalText::fractional;
  out = micro / 1000000;
  return DecimalText::ok;
}

std::string explain(DecimalText problem) {
  switch (problem) {
    case DecimalText::ok:
      return "is valid";
    case DecimalText::malformed:
      return "must be a non-negative decimal number (digits, at most one '.')";
    case DecimalText::too_many_places:
      return "has more than 6 decimal places";
    case DecimalText::too_large:
      return "is too large (at most " + std::to_string(kMaxWhole) + ")";
    case DecimalText::fractional:
      return "must be a whole number of units";
  }
  return "is not valid";
}

bool parse_micro(const std::string& text, std::int64_t& out) {
  return read_micro(text, out) == DecimalText::ok;
}

bool parse_quantity(const std::string& text, std::int64_t& out) {
  return read_quantity(text, out) == DecimalText::ok;
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
