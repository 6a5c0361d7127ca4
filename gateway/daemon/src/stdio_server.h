// gpuxd --stdio: the framed command stream on stdin/stdout (command_stream.h).
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "command_stream.pb.h"
#include "gpux/sequencer/pipeline.h"

namespace gpux::daemon {

// Writes whole frames to a file descriptor; several threads may call it.
class FrameWriter {
 public:
  explicit FrameWriter(int fd) : fd_(fd) {}

  bool write(const proto::StreamMessage& message);

 private:
  int fd_;
  std::mutex mutex_;
};

// An Error frame: what was wrong with the input.
void write_error(FrameWriter& out, const std::string& message);

// Reads frames from stdin and submits them until end of input or a signal
// on `signals` (a signalfd), calling `housekeeping` (the calendar, the disk
// watch) at least every kHousekeepingMs however busy the stream is.
void serve_stdio(sequencer::Pipeline& pipeline, int signals, FrameWriter& out,
                 const std::function<void()>& housekeeping);

// How often gpuxd's main loop looks at the clock and the disk.
constexpr int kHousekeepingMs = 1000;

}  // namespace gpux::daemon
