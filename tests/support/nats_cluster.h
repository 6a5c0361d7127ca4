// Real nats-server processes on loopback forming one JetStream cluster, each
// with its own store under a test directory: what the replication tests run
// against. Killed (SIGKILL) when destroyed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace gpux::test {

class NatsCluster {
 public:
  // Starts `servers` nats-servers (the binary from PATH or /usr/sbin), their
  // logs in `directory`. Returns at once: JetStream elects its meta leader
  // some seconds later, which the first client request waits for.
  NatsCluster(const std::filesystem::path& directory, int servers = 3);
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  // "nats://127.0.0.1:P1,nats://127.0.0.1:P2,..."
  std::string urls() const;
  void kill(int server);     // SIGKILL, reaped
  void restart(int server);  // starts it again on the same ports and store

 private:
  void start(int server);
  std::filesystem::path directory_;
  std::vector<int> client_ports_;
  std::vector<int> cluster_ports_;
  std::vector<pid_t> pids_;
};

}  // namespace gpux::test
