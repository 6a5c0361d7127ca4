// The sequenced, durable pipeline of one gpuxd process:
//
//   submit() ──────────────────────────► journal thread ──► publisher thread
//   (any thread, under one lock: the       group commit,      hands each command's
//   sequencer stamps, the engine applies,  fsync, snapshots   events to its callback
//   events are collected; snapshots by count)
//
// A command's events are published only after the command is durable, so
// nothing a client was told can be lost by a crash. Recovery (newest snapshot
// + journal replay) runs before the threads start.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gpux/matching/commands.h"
#include "gpux/matching/engine.h"

namespace gpux::sequencer {

struct PipelineOptions {
  std::filesystem::path data_directory = "data";
  matching::EngineConfig engine;
  std::size_t queue_capacity = 1u << 16;     // commands waiting per queue before submit() blocks
  std::size_t max_batch = 1u << 13;          // commands per group commit at most
  std::uint64_t snapshot_every = 1'000'000;  // commands between snapshots; 0 = none by count
  bool snapshot_on_stop = true;
  // Delete journal records a new snapshot covers. Saves disk, but recovery
  // then depends on that snapshot alone: off unless the operator asks.
  bool discard_journal_after_snapshot = false;
  // Called on the publisher thread for every durable command, before the
  // command's own callback (so that whoever waits for a command finds every
  // gateway knowing it), with the origin it was submitted with: how
  // gateways see events their clients did not cause (a trade against a
  // resting order, a gate closure).
  std::function<void(const matching::Command&, std::span<const matching::Event>,
                     std::string_view origin)>
      observer;
  // Journaled commands after this sequence are shown to the observer again
  // during recovery (a gateway rebuilding from its own checkpoint); the
  // default shows none.
  matching::SequenceNumber observe_after = std::numeric_limits<matching::SequenceNumber>::max();
  bool sync = true;  // fsync each group commit
  // Called once, on the journal thread, when the journal fails (a write, an
  // fsync, a snapshot), with what failed: no command after the last durable
  // one will ever be acknowledged, every later submit() is refused, and
  // execute()'s waiting futures hold PipelineStopped. The owner should stop.
  std::function<void(const std::string& cause)> on_failure;
  // In a cluster, on the leader: called on the journal thread with each group
  // commit before this node journals it, with the journal's chain value
  // before it and, at a snapshot point, the engine's state hash after its
  // last command. Returns once the batch is replicated; throws when it
  // cannot be (deposed, no quorum), which fails the pipeline as a journal
  // failure does: nothing of the batch or after it is acknowledged.
  std::function<void(std::span<const matching::Command> commands,
                     std::span<const std::string> origins, std::uint64_t chain_before,
                     std::optional<std::uint64_t> state_hash)>
      replicate;
};

// What execute()'s future holds for a command that will never be durable:
// the pipeline stopped, or its journal failed, first.
struct PipelineStopped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RecoveryReport {
  std::uint64_t state_hash = 0;  // the engine's, right after recovery
  matching::SequenceNumber last_sequence = 0;
  matching::SequenceNumber snapshot_sequence = 0;
  std::size_t replayed = 0;
  std::vector<std::string> skipped_snapshots;
};

// Observations counted into buckets whose upper bounds double from 1: what a
// Prometheus histogram is made of.
struct Histogram {
  static constexpr std::size_t kBuckets = 24;    // le 1, 2, 4, ... 2^22, then +Inf
  std::array<std::uint64_t, kBuckets> counts{};  // per bucket, not cumulative
  std::uint64_t sum = 0;
  static std::uint64_t upper_bound(std::size_t bucket) { return std::uint64_t{1} << bucket; }
};

struct PipelineStats {
  std::uint64_t commands = 0;  // durable and published
  std::uint64_t group_commits = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t journal_bytes = 0;  // written by group commits, indexes included
  Histogram group_commit_commands;  // commands per group commit
  Histogram journal_write_us;       // one group commit's write and fsync
  Histogram ack_latency_us;         // a command's stamp to its publication (durable)
};

class Pipeline {
 public:
  // Called on the publisher thread once the command is durable.
  using Done = std::function<void(const matching::Command&, std::span<const matching::Event>)>;

  // Opens the journal, recovers, starts the threads. Throws
  // storage::JournalCorrupt or storage::StorageError when it cannot.
  explicit Pipeline(PipelineOptions options);
  // Stops as stop() does.
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  const RecoveryReport& recovery() const;
  // The engine's state as recovered, from which each gateway derives what it
  // needs (instruments, pending challenges). Given out once, before the first
  // submit(), so that it is not kept for the process's life.
  matching::EngineSnapshot take_recovered_state();

  // Sequences and applies a command; blocks while the journal is full.
  // Returns false after stop() or a journal failure. `origin` is journaled
  // with the command and handed to the observer (PipelineOptions::observer).
  bool submit(matching::CommandBody body, Done done, std::string origin = {});

  // The in-process client API: the command's events once durable, or
  // PipelineStopped when it never will be.
  std::future<std::vector<matching::Event>> execute(matching::CommandBody body);

  // Drains everything accepted, writes a snapshot, closes the journal.
  void stop();

  // A participant's journaled trades sequenced in [from, to), newest first,
  // at most `limit` (storage::Journal::trades_of). From any thread; empty
  // once stopped.
  std::vector<matching::Trade> trades_of(matching::ParticipantId participant,
                                         matching::Nanoseconds from, matching::Nanoseconds to,
                                         std::size_t limit) const;

  PipelineStats stats() const;
  // The engine's state hash; only after stop(), when nothing moves.
  std::uint64_t state_hash() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpux::sequencer
