// Frames of gpuxd's command stream (--stdio): a 4-byte big-endian length,
// then a serialized protobuf message (see proto/command_stream.proto).
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gpux::daemon {

inline constexpr std::size_t kMaxFrame = 16u << 20;

// The frame for `message`: length prefix and bytes.
std::string frame(const google::protobuf::MessageLite& message);

// The length announced by a frame's first four bytes.
std::size_t frame_length(std::string_view header);

// Whole writes and reads on a blocking descriptor, retrying on EINTR; false
// when the other side is gone or the descriptor fails.
bool write_all(int fd, std::string_view bytes);
bool read_exact(int fd, char* into, std::size_t size);

}  // namespace gpux::daemon
