// Decimal text, read and written exactly (no floating point): how the FIX
// gateway reads prices and quantities, and how the command-line tools check
// theirs before sending, so both accept the same text. C++14, like gpux_fix.
#pragma once

#include <cstdint>
#include <string>

namespace gpux {
namespace fix {

// Why a text is not a value, so that the answer can say which rule it broke.
enum class DecimalText {
  ok,
  malformed,        // not digits with at most one '.', or empty
  too_many_places,  // more than 6 decimals
  too_large,        // above kMaxWhole (any price band and quantity is far below)
  fractional,       // a quantity that is not whole units
};

// The largest whole part read: 10^12 keeps every micro-unit value (10^18)
// inside int64 with room for arithmetic.
constexpr std::int64_t kMaxWhole = 1000000000000LL;

// "12.345678" -> 12345678 micro-units; at most 6 decimals, not negative.
DecimalText read_micro(const std::string& text, std::int64_t& out);
// Whole units: "5" or "5.0"; not "5.5", not negative.
DecimalText read_quantity(const std::string& text, std::int64_t& out);
// "is too large (at most 1000000000000)", ...: the rule, for a message that
// names the field first.
std::string explain(DecimalText problem);

// read_micro / read_quantity == ok.
bool parse_micro(const std::string& text, std::int64_t& out);
bool parse_quantity(const std::string& text, std::int64_t& out);
// 12345678 -> "12.345678".
std::string decimal(std::int64_t micro);

}  // namespace fix
}  // namespace gpux
