// A real gpuxd process on the framed command stream (--stdio), for tests that
// drive it from outside and kill it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "command_stream.pb.h"

namespace gpux::test {

class GpuxdProcess {
 public:
  // Starts `binary --stdio --data-dir data [--config config]`; its stderr is
  // appended to `log`, and checked for a ThreadSanitizer report once it is
  // reaped (wait(), or the destructor).
  GpuxdProcess(const std::filesystem::path& binary, const std::filesystem::path& data,
               const std::filesystem::path& log, const std::filesystem::path& config = {});
  ~GpuxdProcess();  // kills it if it still runs
  GpuxdProcess(const GpuxdProcess&) = delete;
  GpuxdProcess& operator=(const GpuxdProcess&) = delete;

  // Sends one command frame; false once the daemon is gone.
  bool send(const proto::Command& command);
  // The next message, or nothing at end of output.
  std::optional<proto::StreamMessage> read();
  // Whether output is waiting to be read right now.
  bool readable_now() const;

  void close_input();
  void kill_hard();  // SIGKILL
  void terminate();  // SIGTERM
  void pause();      // SIGSTOP: a process that stalls (a zombie leader)
  void resume();     // SIGCONT
  int wait();        // exit status as waitpid reports it

 private:
  std::string log_;
  long log_start_ = 0;  // where this process's part of `log_` begins
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

}  // namespace gpux::test
