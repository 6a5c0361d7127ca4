#include "nats_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

extern char** environ;

namespace gpux::test {

namespace {

// A port nothing listens on now (the kernel's choice; free again on close).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("no free port");
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string nats_server() {
  for (const char* candidate : {"/usr/sbin/nats-server", "/usr/bin/nats-server"})
    if (::access(candidate, X_OK) == 0) return candidate;
  throw std::runtime_error("nats-server is not installed (ops/setup installs it)");
}

}  // namespace

NatsCluster::NatsCluster(const std::filesystem::path& directory, int servers)
    : directory_(directory), pids_(static_cast<std::size_t>(servers), -1) {
  for (int i = 0; i < servers; ++i) {
    client_ports_.push_back(free_port());
    cluster_ports_.push_back(free_port());
  }
  for (int i = 0; i < servers; ++i)
    start(i);
}

NatsCluster::~NatsCluster() {
  for (std::size_t i = 0; i < pids_.size(); ++i)
    if (pids_[i] > 0) kill(static_cast<int>(i));
}

std::string NatsCluster::urls() const {
  std::string out;
  for (const int port : client_ports_) {
    if (!out.empty()) out += ',';
    out += "nats://127.0.0.1:";
    out += std::to_string(port);
  }
  return out;
}

void NatsCluster::start(int server) {
  const auto i = static_cast<std::size_t>(server);
  std::string name = std::to_string(server + 1);
  name.insert(0, 1, 'n');  // not "n" + ...: GCC 12 warns of a restrict overlap there
  const auto config = directory_ / (name + ".conf");
  {
    std::ofstream out(config);
    out << "server_name: " << name << "\nlisten: 127.0.0.1:" << client_ports_[i]
        << "\njetstream { store_dir: \"" << (directory_ / name).string() << "\" }\n"
        << "cluster {\n  name: gpux-test\n  listen: 127.0.0.1:" << cluster_ports_[i]
        << "\n  routes: [";
    const char* separator = "";
    for (std::size_t k = 0; k < cluster_ports_.size(); ++k)
      if (k != i) {
        out << separator << " \"nats-route://127.0.0.1:" << cluster_ports_[k] << '"';
        separator = ",";
      }
    out << " ]\n}\n";
  }
  const std::string binary = nats_server();
  const std::string config_text = config.string();
  const std::string log = (directory_ / (name + ".log")).string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  char* argv[] = {const_cast<char*>(binary.c_str()), const_cast<char*>("-c"),
                  const_cast<char*>(config_text.c_str()), nullptr};
  pid_t pid = -1;
  const int error = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw std::runtime_error("cannot start " + binary);
  pids_[i] = pid;
}

void NatsCluster::kill(int server) {
  const auto i = static_cast<std::size_t>(server);
  if (pids_[i] <= 0) return;
  ::kill(pids_[i], SIGKILL);
  ::waitpid(pids_[i], nullptr, 0);
  pids_[i] = -1;
}

void NatsCluster::restart(int server) {
  kill(server);
  start(server);
}

}  // namespace gpux::test
