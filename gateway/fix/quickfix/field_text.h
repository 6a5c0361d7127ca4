// Small readers and writers of FIX field text, shared by the QuickFIX units.
#pragma once

#include <quickfix/FieldMap.h>

#include <string>

namespace gpux {
namespace fix {

// The field's value, or `fallback` when the message does not carry it.
inline std::string field_or(const FIX::FieldMap& map, int tag, const std::string& fallback) {
  return map.isSetField(tag) ? map.getField(tag) : fallback;
}

// A field's text as one of FIX's values of it (FixValues.h).
inline std::string text(char value) {
  return std::string(1, value);
}
inline std::string text(int value) {
  return std::to_string(value);
}

}  // namespace fix
}  // namespace gpux
