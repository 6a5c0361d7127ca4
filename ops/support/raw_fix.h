// FIX 4.4 messages as bytes, for programs that speak FIX without a FIX
// engine: what a well-behaved engine never sends (tests), or many cheap
// sessions at once (the soak). Plain C++14, so QuickFIX units can include it.
#pragma once

#include <cstdio>
#include <string>

namespace gpux {
namespace local {

// A whole message: BeginString, BodyLength, MsgType, the header fields,
// `body` as given ("tag=value\x01..."), and its CheckSum.
inline std::string fix_frame(const std::string& type, const std::string& sender,
                             const std::string& target, int sequence,
                             const std::string& sending_time, const std::string& body) {
  const std::string inner = "35=" + type + "\x01" + "49=" + sender + "\x01" + "56=" + target +
                            "\x01" + "34=" + std::to_string(sequence) + "\x01" +
                            "52=" + sending_time + "\x01" + body;
  const std::string head =
      "8=FIX.4.4\x01" + std::string("9=") + std::to_string(inner.size()) + "\x01";
  unsigned sum = 0;
  for (const char c : head + inner)
    sum += static_cast<unsigned char>(c);
  char trailer[16];
  std::snprintf(trailer, sizeof trailer, "10=%03u\x01", sum % 256);
  return head + inner + trailer;
}

// The value of `tag` in a raw message, or "<absent>".
inline std::string fix_value(const std::string& message, const std::string& tag) {
  const std::string needle = "\x01" + tag + "=";
  const auto at = message.find(needle);
  if (at == std::string::npos) return "<absent>";
  const auto from = at + needle.size();
  return message.substr(from, message.find('\x01', from) - from);
}

// The first whole message at the front of `buffer`, taken out of it; empty
// while none is complete.
inline std::string take_fix_message(std::string& buffer) {
  const auto end = buffer.find(
      "\x01"
      "10=");
  if (end == std::string::npos || buffer.size() < end + 8) return {};
  std::string message = buffer.substr(0, end + 8);
  buffer.erase(0, end + 8);
  return message;
}

}  // namespace local
}  // namespace gpux
