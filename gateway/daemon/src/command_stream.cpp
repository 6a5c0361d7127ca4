#include "gpux/daemon/command_stream.h"

#include <unistd.h>

#include <cerrno>

namespace gpux::daemon {

std::string frame(const google::protobuf::MessageLite& message) {
  const std::string body = message.SerializeAsString();
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>(body.size() >> (24 - 8 * i));
  return out + body;
}

std::size_t frame_length(std::string_view header) {
  std::size_t length = 0;
  for (int i = 0; i < 4; ++i)
    length = length << 8 | static_cast<unsigned char>(header[static_cast<std::size_t>(i)]);
  return length;
}

bool write_all(int fd, std::string_view bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_exact(int fd, char* into, std::size_t size) {
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::read(fd, into + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace gpux::daemon
