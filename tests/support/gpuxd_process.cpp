#include "gpuxd_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

#include "child_log.h"
#include "gpux/daemon/command_stream.h"

extern char** environ;

namespace gpux::test {
GpuxdProcess::GpuxdProcess(const std::filesystem::path& binary, const std::filesystem::path& data,
                           const std::filesystem::path& log, const std::filesystem::path& config)
    : log_(log.string()), log_start_(log_size(log_)) {
  ::signal(SIGPIPE, SIG_IGN);  // a killed daemon must not kill the test
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<std::string> args = {binary.string(), "--stdio", "--data-dir", data.string()};
  if (!config.empty()) args.insert(args.end(), {"--config", config.string()});
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const int error = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
  if (error != 0) throw std::runtime_error("cannot start " + binary.string());
}

GpuxdProcess::~GpuxdProcess() {
  if (pid_ > 0) {
    kill_hard();
    wait();
  }
  close_input();
  if (from_child_ >= 0) ::close(from_child_);
}

bool GpuxdProcess::send(const proto::Command& command) {
  return daemon::write_all(to_child_, daemon::frame(command));
}

std::optional<proto::StreamMessage> GpuxdProcess::read() {
  char header[4];
  if (!daemon::read_exact(from_child_, header, 4)) return std::nullopt;
  std::string body(daemon::frame_length(std::string_view(header, 4)), '\0');
  if (!daemon::read_exact(from_child_, body.data(), body.size())) return std::nullopt;
  proto::StreamMessage message;
  if (!message.ParseFromString(body)) throw std::runtime_error("gpuxd wrote an unreadable frame");
  return message;
}

bool GpuxdProcess::readable_now() const {
  pollfd fd{from_child_, POLLIN, 0};
  return ::poll(&fd, 1, 0) > 0 && (fd.revents & POLLIN);
}

void GpuxdProcess::close_input() {
  if (to_child_ >= 0) ::close(to_child_);
  to_child_ = -1;
}

void GpuxdProcess::kill_hard() {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

void GpuxdProcess::terminate() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

void GpuxdProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void GpuxdProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

int GpuxdProcess::wait() {
  int status = 0;
  if (pid_ <= 0) return status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  check_no_sanitizer_report(log_, log_start_);
  return status;
}

}  // namespace gpux::test
