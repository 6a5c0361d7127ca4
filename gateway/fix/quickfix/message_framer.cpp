#include "message_framer.h"

#include <algorithm>

namespace gpux {
namespace fix {

namespace {
// "10=NNN\x01" after the body.
constexpr std::size_t kTrailerBytes = 7;
// BodyLength digits: more than this is too long for any limit we allow.
constexpr std::size_t kMaxLengthDigits = 9;
}  // namespace

MessageFramer::MessageFramer(std::size_t max_message_bytes)
    : max_message_bytes_(max_message_bytes) {}

void MessageFramer::append(const char* bytes, std::size_t count) {
  buffer_.append(bytes, count);
}

MessageFramer::Result MessageFramer::need_more_unless_too_long() const {
  return buffer_.size() > max_message_bytes_ ? Result::too_long : Result::need_more;
}

MessageFramer::Result MessageFramer::next(std::string& message) {
  const std::size_t begin = buffer_.find("8=");
  if (begin == std::string::npos) {
    // Nothing can start before a "8=": keep only a last '8' that may begin one.
    buffer_.erase(0,
                  buffer_.empty() || buffer_.back() != '8' ? buffer_.size() : buffer_.size() - 1);
    return Result::need_more;
  }
  buffer_.erase(0, begin);
  // As FIX::Parser: the first BodyLength field, then the body, then the
  // first CheckSum field that begins at or after the body's last byte.
  const std::size_t length_tag = buffer_.find("\0019=");
  if (length_tag == std::string::npos) return need_more_unless_too_long();
  const std::size_t digits_at = length_tag + 3;
  const std::size_t length_end = buffer_.find('\001', digits_at);
  if (length_end == std::string::npos) return need_more_unless_too_long();
  const std::size_t digits = length_end - digits_at;
  const bool a_number =
      digits > 0 && std::all_of(buffer_.begin() + static_cast<std::ptrdiff_t>(digits_at),
                                buffer_.begin() + static_cast<std::ptrdiff_t>(length_end),
                                [](char c) { return c >= '0' && c <= '9'; });
  if (!a_number) {
    buffer_.erase(0, length_end + 1);
    return Result::garbled;
  }
  if (digits > kMaxLengthDigits) return Result::too_long;
  const std::size_t body_end =
      length_end + 1 + static_cast<std::size_t>(std::stoul(buffer_.substr(digits_at, digits)));
  if (body_end + kTrailerBytes > max_message_bytes_) return Result::too_long;
  if (buffer_.size() < body_end) return Result::need_more;
  const std::size_t checksum = buffer_.find("\00110=", body_end - 1);
  if (checksum == std::string::npos) return need_more_unless_too_long();
  const std::size_t end = buffer_.find('\001', checksum + 4);
  if (end == std::string::npos) return need_more_unless_too_long();
  message.assign(buffer_, 0, end + 1);
  buffer_.erase(0, end + 1);
  return Result::message;
}

}  // namespace fix
}  // namespace gpux
