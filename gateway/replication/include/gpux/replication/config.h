// A cluster's settings: plain values the daemon parses (docs/configuration.md,
// cluster_*), apart from the NATS client so that the tools reading gpuxd's
// configuration need not link it.
#pragma once

#include <cstdint>
#include <string>

namespace gpux::replication {

struct LogOptions {
  std::string servers;  // "nats://127.0.0.1:4222,nats://127.0.0.1:4223,..."
  std::string stream = "GPUX";
  int replicas = 3;                // of the stream and of the lease's bucket
  std::int64_t timeout_ms = 2000;  // for each request to the servers
  std::string node;                // this node's name, written into entries and the lease
};

// gpuxd's cluster settings (docs/configuration.md, cluster_*).
struct ClusterOptions {
  LogOptions log;  // log.servers empty: a single node, no cluster
  // How long a leader that stopped renewing keeps the lease; it renews every
  // fifth of it. Failover takes about this long.
  std::int64_t lease_ms = 1500;
};

}  // namespace gpux::replication
