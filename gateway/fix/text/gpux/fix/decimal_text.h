// Decimal text, read and written exactly (no floating point): how the FIX
// gateway reads prices and quantities, and how the command-line tools check
// theirs before sending, so both accept the same text. C++14, like gpux_fix.
#pragma once

#include <cstdint>
#include <string>

namespace gpux {
namespace fix {

// "12.345678" -> 12345678 micro-units; at most 6 decimals, not negative.
bool parse_micro(const std::string& text, std::int64_t& out);
// Whole units: "5" or "5.0"; not "5.5", not negative.
bool parse_quantity(const std::string& text, std::int64_t& out);
// 12345678 -> "12.345678".
std::string decimal(std::int64_t micro);

}  // namespace fix
}  // namespace gpux
