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
#include "gpux/replication/standby.h"
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

  // The leader's PipelineOptions::replicate, in entries of at most
  // kMaxEntryCommands commands (NATS refuses messages over 1 MB). While the
  // servers cannot confirm (no quorum) it says so once, tries again every
  // 100 ms and stalled() is true: nothing is acknowledged meanwhile, and
  // it resumes when they can. Throws replication::Fenced when deposed, and
  // Unavailable once stop_retrying() was called; after either it never
  // appends again.
  void replicate(std::span<const matching::Command> commands, std::span<const std::string> origins,
                 std::uint64_t chain_before, std::optional<std::uint64_t> state_hash);
  static constexpr std::size_t kMaxEntryCommands = 1000;

  // Whether the leader is waiting for a quorum now. From any thread.
  bool stalled() const { return stalled_.load(); }
  // At a stop: an append that cannot be confirmed is given up, not retried.
  void stop_retrying();
  // After a clean stop, everything journaled: stops renewing the lease and
  // gives it up, so that a standby leads at once.
  void step_down();

 private:
  void keep_lease(std::function<void(const std::string& why)> lost);
  replication::Log::Appended append_until_confirmed(const replication::Entry& entry);
  // Throws replication::Diverged unless the log holds this node's journal:
  // its last command, with the same chain value.
  void check_journal_is_the_logs(replication::Standby& standby);

  replication::ClusterOptions options_;
  std::string pipeline_directory_;  // the journal's, for messages
  std::unique_ptr<replication::Log> log_;
  std::unique_ptr<replication::Lease> lease_;
  std::uint64_t last_appended_ = 0;  // the stream sequence this leader expects last
  bool deposed_ = false;
  std::atomic<bool> stalled_{false};
  std::mutex mutex_;  // stopping_, for the renewal thread and retried appends
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread renewal_;
};

}  // namespace gpux::daemon
