// Text as the inside of a JSON string, for every tool that prints JSON:
// quotes, backslashes and control characters escaped, and '<' as \u003c so
// that the JSON may also stand inside an HTML <script> element.
#pragma once

#include <cstdio>
#include <string>

namespace gpux {
namespace json {

inline std::string escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '<' || static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

// A JSON string literal: `text` escaped, in quotes.
inline std::string quoted(const std::string& text) {
  // Appended, not "\"" + ...: GCC 12 at -O3 warns falsely (-Wrestrict) on
  // a literal prepended to a temporary string.
  std::string out = "\"";
  out += escape(text);
  out += '"';
  return out;
}

}  // namespace json
}  // namespace gpux
