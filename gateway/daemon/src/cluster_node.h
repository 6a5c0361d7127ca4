// gpuxd as a node of a cluster (docs/operations.md, "Cluster"): a standby
// that follows the replicated log into its own journal until it takes the
// lease, then the leader, whose pipeline replicates every group commit
// before journaling it and which stops the moment it is deposed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "gpux/replication/log.h"
#include "gpux/sequencer/pipeline.h"

namespace gpux::daemon {

class ClusterNode {
 public:
  // Connects to the NATS servers. Throws replication::Unavailable.
  explicit ClusterNode(const replication::ClusterOptions& options);
  ~ClusterNode();  // stops renewing the lease
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Follows the log into the journal in `pipeline.data_directory` (said on
  // stderr) until this node holds the lease, has applied the whole log and
  // has appended its mark, so that any earlier leader is fenced. From the
  // moment it holds the lease it renews it on a thread of its own, and calls
  // `lost` once, with why, when it cannot (another node holds it, or the
  // servers did not answer within the lease). False when SIGTERM or SIGINT
  // arrived on `signals` first. Throws replication::Diverged,
  // replication::Unavailable, and the journal's errors.
  bool follow_until_leader(const sequencer::PipelineOptions& pipeline, int signals,
                           std::function<void(const std::string& why)> lost);

  // The leader's PipelineOptions::replicate. Throws replication::Fenced or
  // Unavailable, after which this node never appends again.
  void replicate(std::span<const matching::Command> commands, std::span<const std::string> origins,
                 std::uint64_t chain_before, std::optional<std::uint64_t> state_hash);

 private:
  void keep_lease(std::function<void(const std::string& why)> lost);

  replication::ClusterOptions options_;
  std::unique_ptr<replication::Log> log_;
  std::unique_ptr<replication::Lease> lease_;
  std::uint64_t last_appended_ = 0;  // the stream sequence this leader expects last
  bool deposed_ = false;
  std::mutex mutex_;  // the renewal thread's stop
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread renewal_;
};

}  // namespace gpux::daemon
