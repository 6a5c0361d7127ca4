#include "cluster_node.h"

#include <poll.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "gpux/replication/standby.h"

namespace gpux::daemon {

namespace {

using Clock = std::chrono::steady_clock;

// Whether SIGTERM or SIGINT waits on the signalfd (left there for main()).
bool signalled(int signals) {
  pollfd fd{signals, POLLIN, 0};
  return ::poll(&fd, 1, 0) > 0 && (fd.revents & POLLIN) != 0;
}

}  // namespace

// Nodes and nats-servers are often started together: JetStream needs some
// seconds to elect its meta leader and place the stream on its peers.
constexpr auto kClusterStartWait = std::chrono::seconds(60);

ClusterNode::ClusterNode(const replication::ClusterOptions& options) : options_(options) {
  const auto deadline = Clock::now() + kClusterStartWait;
  for (bool said = false;; said = true) {
    try {
      log_ = replication::Log::open(options.log);
      lease_ =
          std::make_unique<replication::Lease>(*log_, std::chrono::milliseconds(options.lease_ms));
      return;
    } catch (const replication::Unavailable& e) {
      if (Clock::now() >= deadline) throw;
      if (!said)
        std::fprintf(stderr, "gpuxd: cluster node %s: waiting for the NATS cluster (%s)\n",
                     options.log.node.c_str(), e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
}

ClusterNode::~ClusterNode() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (renewal_.joinable()) renewal_.join();
}

bool ClusterNode::follow_until_leader(const sequencer::PipelineOptions& pipeline, int signals,
                                      std::function<void(const std::string& why)> lost) {
  replication::Standby standby({.data_directory = pipeline.data_directory,
                                .engine = pipeline.engine,
                                .snapshot_every = pipeline.snapshot_every,
                                .sync = pipeline.sync,
                                .observer = {}});
  const char* node = options_.log.node.c_str();
  std::uint64_t next = log_->resume_after(standby.last_sequence());
  std::fprintf(stderr,
               "gpuxd: cluster node %s: standby; journal at command %llu, following stream %s "
               "from entry %llu; leader now: %s\n",
               node, static_cast<unsigned long long>(standby.last_sequence()),
               options_.log.stream.c_str(), static_cast<unsigned long long>(next),
               [&] {
                 try {
                   const std::string holder = lease_->holder();
                   return holder.empty() ? std::string("none") : holder;
                 } catch (const replication::Unavailable&) {
                   return std::string("not known yet");
                 }
               }()
                   .c_str());
  {
    const auto follower = log_->follow(next);
    auto next_try = Clock::now();
    for (;;) {
      if (signalled(signals)) return false;
      if (Clock::now() >= next_try) {
        try {
          if (lease_->acquire()) break;
        } catch (const replication::Unavailable&) {
          // The servers are between leaders or lost their quorum: a standby
          // waits for them, it has nothing to acknowledge.
        }
        next_try = Clock::now() + std::chrono::milliseconds(options_.lease_ms / 5);
      }
      if (const auto entry = follower->next(std::chrono::milliseconds(20))) {
        standby.apply(*entry);
        next = entry->stream_sequence + 1;
      }
    }
  }
  // The lease is this node's, and kept from now on, however long the rest
  // and recovery take: the whole log, then the mark that fences whoever led
  // before (should it append after the last read, read again).
  keep_lease(std::move(lost));
  for (;;) {
    while (const auto entry = log_->read(next)) {
      standby.apply(*entry);
      next = entry->stream_sequence + 1;
    }
    try {
      last_appended_ = log_->append({.stream_sequence = 0,
                                     .commands = {},
                                     .origins = {},
                                     .chain_before = 0,
                                     .chain_after = 0,
                                     .leader = options_.log.node,
                                     .state_hash = standby.state_hash()},
                                    next - 1);
      break;
    } catch (const replication::Fenced&) {
    }
  }
  std::fprintf(stderr,
               "gpuxd: cluster node %s: leader from stream entry %llu (command %llu, state hash "
               "%016llx)\n",
               node, static_cast<unsigned long long>(last_appended_),
               static_cast<unsigned long long>(standby.last_sequence()),
               static_cast<unsigned long long>(standby.state_hash()));
  standby.close();
  return true;
}

void ClusterNode::replicate(std::span<const matching::Command> commands,
                            std::span<const std::string> origins, std::uint64_t chain_before,
                            std::optional<std::uint64_t> state_hash) {
  if (deposed_) throw replication::Fenced("this node was deposed: it appends nothing more");
  try {
    last_appended_ = log_->append({.stream_sequence = 0,
                                   .commands = {commands.begin(), commands.end()},
                                   .origins = {origins.begin(), origins.end()},
                                   .chain_before = chain_before,
                                   .chain_after = 0,
                                   .leader = options_.log.node,
                                   .state_hash = state_hash},
                                  last_appended_);
  } catch (...) {
    deposed_ = true;
    throw;
  }
}

void ClusterNode::keep_lease(std::function<void(const std::string& why)> lost) {
  renewal_ = std::thread([this, lost = std::move(lost)] {
    auto renewed = Clock::now();
    std::unique_lock lock(mutex_);
    while (!stop_.wait_for(lock, std::chrono::milliseconds(options_.lease_ms / 5),
                           [this] { return stopping_; })) {
      lock.unlock();
      std::string why;
      try {
        if (lease_->renew())
          renewed = Clock::now();
        else
          why = "another node holds the lease";
      } catch (const replication::Unavailable& e) {
        if (Clock::now() - renewed >= std::chrono::milliseconds(options_.lease_ms))
          why = std::string("the lease could not be renewed for its whole term: ") + e.what();
      }
      lock.lock();
      if (!why.empty()) {
        lost(why);
        return;
      }
    }
  });
}

}  // namespace gpux::daemon
