#include "stdio_server.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "gpux/daemon/command_stream.h"
#include "gpux/storage/codec.h"

namespace gpux::daemon {

bool FrameWriter::write(const proto::StreamMessage& message) {
  const std::string bytes = frame(message);
  std::lock_guard lock(mutex_);
  return write_all(fd_, bytes);
}

void write_error(FrameWriter& out, const std::string& message) {
  proto::StreamMessage m;
  m.mutable_error()->set_message(message);
  out.write(m);
}

void serve_stdio(sequencer::Pipeline& pipeline, int signals, FrameWriter& out,
                 const std::function<void()>& housekeeping) {
  std::string buffer;
  char chunk[1 << 16];
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signals, POLLIN, 0}};
  const auto acknowledge = [&out](const matching::Command& command,
                                  std::span<const matching::Event> events) {
    proto::StreamMessage m;
    auto& ack = *m.mutable_acknowledgement();
    ack.set_sequence(command.stamp.sequence);
    for (const matching::Event& e : events)
      *ack.add_events() = storage::encode(e);
    out.write(m);
  };
  while (true) {
    const int ready = ::poll(fds, 2, kHousekeepingMs);
    housekeeping();
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return;
    if (ready == 0) continue;
    if (fds[1].revents & POLLIN) return;
    if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // end of input
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t at = 0;
    while (buffer.size() - at >= 4) {
      const std::size_t length = frame_length(std::string_view(buffer).substr(at, 4));
      if (length > kMaxFrame) {
        write_error(out, "frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                             std::to_string(kMaxFrame) + "; closing the stream");
        return;
      }
      if (buffer.size() - at - 4 < length) break;
      proto::Command command;
      if (!command.ParseFromArray(buffer.data() + at + 4, static_cast<int>(length))) {
        write_error(out, "frame does not parse as gpux.proto.Command; skipped");
      } else {
        try {
          if (!pipeline.submit(storage::decode(command).body, acknowledge)) return;
        } catch (const storage::DecodeError& e) {
          write_error(out, std::string("command refused: ") + e.what());
        }
      }
      at += 4 + length;
    }
    buffer.erase(0, at);
  }
}

}  // namespace gpux::daemon
