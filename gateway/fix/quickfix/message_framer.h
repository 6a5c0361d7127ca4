// Cuts a connection's bytes into FIX messages, as QuickFIX's FIX::Parser
// does (BeginString "8=", BodyLength "9=", the body, CheckSum "10="), but
// never holds more than `max_message_bytes` for one message: FIX::Parser
// keeps whatever arrives until a message is whole, so a peer that declares
// 9=999999999, or sends bytes without "8=", makes it grow without bound.
// Here a BodyLength too large for the limit is refused as soon as it is
// read, before its body arrives. Plain C++14, no QuickFIX.
#pragma once

#include <cstddef>
#include <string>

namespace gpux {
namespace fix {

class MessageFramer {
 public:
  explicit MessageFramer(std::size_t max_message_bytes);

  // Adds bytes as they arrive.
  void append(const char* bytes, std::size_t count);

  enum class Result {
    message,    // `message` holds the next whole message, taken off the buffer
    need_more,  // no whole message yet
    garbled,    // a BodyLength that is not a number: its header was dropped,
                // and what follows may frame again
    too_long,   // the next message would exceed the limit: close the connection
  };
  // Post: the buffer holds at most max_message_bytes plus the last append
  // (until too_long, after which the caller stops reading).
  Result next(std::string& message);

  // Bytes held for messages not yet whole.
  std::size_t buffered() const { return buffer_.size(); }

 private:
  Result need_more_unless_too_long() const;

  const std::size_t max_message_bytes_;
  std::string buffer_;
};

}  // namespace fix
}  // namespace gpux
