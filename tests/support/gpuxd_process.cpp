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

extern char** environ;

namespace gpux::test {
namespace {

bool write_all(int fd, const std::string& bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, char* into, std::size_t size) {
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::read(fd, into + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

GpuxdProcess::GpuxdProcess(const std::filesystem::path& binary, const std::filesystem::path& data,
                           const std::filesystem::path& log) {
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
  const std::string body = command.SerializeAsString();
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i)
    frame[static_cast<std::size_t>(i)] = static_cast<char>(body.size() >> (24 - 8 * i));
  return write_all(to_child_, frame + body);
}

std::optional<proto::StreamMessage> GpuxdProcess::read() {
  unsigned char header[4];
  if (!read_all(from_child_, reinterpret_cast<char*>(header), 4)) return std::nullopt;
  const std::size_t length = std::size_t{header[0]} << 24 | std::size_t{header[1]} << 16 |
                             std::size_t{header[2]} << 8 | header[3];
  std::string body(length, '\0');
  if (!read_all(from_child_, body.data(), length)) return std::nullopt;
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

int GpuxdProcess::wait() {
  int status = 0;
  while (pid_ > 0 && ::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

}  // namespace gpux::test
