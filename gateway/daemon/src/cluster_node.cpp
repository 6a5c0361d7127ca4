#include "cluster_node.h"

#include <poll.h>

#include <algorithm>
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
  pipeline_directory_ = pipeline.data_directory.string();
  replication::Standby standby({.data_directory = pipeline.data_directory,
                                .engine = pipeline.engine,
                                .snapshot_every = pipeline.snapshot_every,
                                .sync = pipeline.sync,
                                .observer = {}});
  const char* node = options_.log.node.c_str();
  const auto deadline = Clock::now() + kClusterStartWait;
  std::uint64_t next = 0;
  // A new stream takes its servers a moment to elect its leader.
  while (next == 0) {
    try {
      next = log_->resume_after(standby.last_sequence());
    } catch (const replication::Unavailable&) {
      if (Clock::now() >= deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
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
    std::unique_ptr<replication::Log::Follower> follower;
    auto next_try = Clock::now();
    for (;;) {
      if (signalled(signals)) return false;
      try {
        // Again after the servers failed it: from the entry after the last applied.
        if (!follower) follower = log_->follow(next);
      } catch (const replication::Unavailable&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        continue;
      }
      if (Clock::now() >= next_try) {
        try {
          if (lease_->acquire()) break;
        } catch (const replication::Unavailable&) {
          // The servers are between leaders or lost their quorum: a standby
          // waits for them, it has nothing to acknowledge.
        }
        next_try = Clock::now() + std::chrono::milliseconds(options_.lease_ms / 5);
      }
      try {
        if (const auto entry = follower->next(std::chrono::milliseconds(20))) {
          standby.apply(*entry);
          next = entry->stream_sequence + 1;
        }
      } catch (const replication::Unavailable&) {
        follower.reset();
      }
    }
  }
  // The lease is this node's, and kept from now on, however long the rest
  // and recovery take: the whole log, then the mark that fences whoever led
  // before (should it append after the last read, read again).
  keep_lease(std::move(lost));
  for (;;) {
    try {
      while (const auto entry = log_->read(next)) {
        standby.apply(*entry);
        next = entry->stream_sequence + 1;
      }
      check_journal_is_the_logs(standby);
      last_appended_ = log_->append(replication::leader_entry({}, {}, 0, options_.log.node,
                                                              standby.state_hash()),
                                    next - 1)
                           .stream_sequence;
      break;
    } catch (const replication::Fenced&) {
      // The last leader appended after the last read: read again.
    } catch (const replication::Unavailable&) {
      // The servers are between leaders: the lease is kept meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
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

void ClusterNode::check_journal_is_the_logs(replication::Standby& standby) {
  const matching::SequenceNumber tip = standby.last_sequence();
  if (tip == 0) return;
  // The entry holding the journal's last command: applying it again checks
  // its chain (Standby::apply) and writes nothing.
  for (std::uint64_t n = log_->resume_after(tip - 1);; ++n) {
    const auto entry = log_->read(n);
    if (!entry)
      throw replication::Diverged(
          "the journal in " + pipeline_directory_ + " holds commands up to " + std::to_string(tip) +
          " that stream " + options_.log.stream +
          " does not: this data_dir is not this cluster's (a cluster starts from an empty "
          "stream and empty data_dirs; docs/operations.md)");
    if (!entry->commands.empty() && entry->commands.back().stamp.sequence >= tip) {
      standby.apply(*entry);
      return;
    }
  }
}

void ClusterNode::replicate(std::span<const matching::Command> commands,
                            std::span<const std::string> origins, std::uint64_t chain_before,
                            std::optional<std::uint64_t> state_hash) {
  if (deposed_) throw replication::Fenced("this node was deposed: it appends nothing more");
  for (std::size_t first = 0; first < commands.size(); first += kMaxEntryCommands) {
    const std::size_t count = std::min(kMaxEntryCommands, commands.size() - first);
    const bool last = first + count == commands.size();
    const replication::Entry entry = replication::leader_entry(
        commands.subspan(first, count), origins.subspan(first, count), chain_before,
        options_.log.node, last ? state_hash : std::nullopt);
    const auto appended = append_until_confirmed(entry);
    last_appended_ = appended.stream_sequence;
    chain_before = appended.chain_after;
  }
}

replication::Log::Appended ClusterNode::append_until_confirmed(const replication::Entry& entry) {
  const char* node = options_.log.node.c_str();
  const auto since = Clock::now();
  for (;;) {
    try {
      const auto appended = log_->append(entry, last_appended_);
      if (stalled_.exchange(false))
        std::fprintf(stderr,
                     "gpuxd: cluster node %s: the log is written again after %lld ms; "
                     "acknowledging and taking orders again\n",
                     node,
                     static_cast<long long>(
                         std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since)
                             .count()));
      return appended;
    } catch (const replication::Unavailable& e) {
      std::unique_lock lock(mutex_);
      if (stopping_) {
        deposed_ = true;
        throw;
      }
      if (!stalled_.exchange(true))
        std::fprintf(stderr,
                     "gpuxd: cluster node %s: ERROR: the log cannot be written (%s): nothing is "
                     "acknowledged and new orders are refused until a quorum of nats-servers "
                     "answers; trying again every 100 ms\n",
                     node, e.what());
      stop_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    } catch (...) {
      deposed_ = true;
      throw;
    }
  }
}

void ClusterNode::step_down() {
  stop_retrying();  // which ends the renewal thread too
  if (renewal_.joinable()) renewal_.join();
  try {
    lease_->release();
    std::fprintf(stderr, "gpuxd: cluster node %s: gave up the lease\n", options_.log.node.c_str());
  } catch (const replication::Unavailable&) {
    // It lapses after its term instead.
  }
}

void ClusterNode::stop_retrying() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
}

void ClusterNode::keep_lease(std::function<void(const std::string& why)> lost) {
  renewal_ = std::thread([this, lost = std::move(lost)] {
    std::unique_lock lock(mutex_);
    while (!stop_.wait_for(lock, std::chrono::milliseconds(options_.lease_ms / 5),
                           [this] { return stopping_; })) {
      lock.unlock();
      std::string why;
      try {
        if (!lease_->renew()) why = "another node holds the lease";
      } catch (const replication::Unavailable&) {
        // No quorum: nobody else can take the lease either. Should another
        // node take it once the servers are back, before this one renews,
        // its mark fences this leader's next append.
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
