// The replicated log of a gpux cluster: the sequenced commands on a NATS
// JetStream stream (file storage, 3 replicas), and the lease that says which
// node may write it.
//
// Each stream message is one Entry: a leader's group commit, or the mark a
// leader writes when it takes over. A leader appends with the stream
// sequence it last saw as the expected last one, so a deposed leader (one
// that another appended after) is refused, Fenced, and must never
// acknowledge again. Nothing here decides who leads: Lease does, through
// JetStream's key-value store (compare-and-set, with a time to live).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gpux/matching/commands.h"
#include "gpux/replication/config.h"

namespace gpux::replication {

// Another leader appended since this one last did: it is deposed.
struct Fenced : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The NATS servers did not answer in time, or refused (no JetStream quorum,
// no connection): whether an append landed is unknown.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An entry that does not parse, or does not continue the log.
struct BadEntry : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Entry {
  std::uint64_t stream_sequence = 0;  // where it is in the stream (set by read)
  std::vector<matching::Command> commands;
  std::vector<std::string> origins;  // one per command
  // The journal's chain value (JournalRecord.chain) before the first
  // command, from which append() chains the records, and after the last
  // one, as read(): a follower whose journal then has the same chain holds
  // the same records, byte for byte.
  std::uint64_t chain_before = 0;
  std::uint64_t chain_after = 0;
  std::vector<std::uint64_t> chains;  // after each command (set by read)
  std::string leader;
  // The leader's engine state hash after the last command, at its snapshot points.
  std::optional<std::uint64_t> state_hash;
};

// What a leader appends: `commands` (none for its mark) with their origins,
// chained from `chain_before`.
inline Entry leader_entry(std::span<const matching::Command> commands,
                          std::span<const std::string> origins, std::uint64_t chain_before,
                          std::string leader, std::optional<std::uint64_t> state_hash) {
  return {.stream_sequence = 0,
          .commands = {commands.begin(), commands.end()},
          .origins = {origins.begin(), origins.end()},
          .chain_before = chain_before,
          .chain_after = 0,
          .chains = {},
          .leader = std::move(leader),
          .state_hash = state_hash};
}

class Log {
 public:
  // Connects and creates the stream when it does not exist. Throws Unavailable.
  static std::unique_ptr<Log> open(LogOptions options);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  const LogOptions& options() const;

  // The stream's last sequence (0 when empty). Throws Unavailable.
  std::uint64_t last_stream_sequence();

  // Appends `entry` when the stream's last sequence is still `expected_last`
  // and a quorum of replicas has it. Throws Fenced when another append came
  // first, Unavailable when the servers did not confirm in time: it may or
  // may not have landed, and the same append may be tried again (a landed
  // one is then recognised by its message id and not written twice).
  struct Appended {
    std::uint64_t stream_sequence = 0;
    std::uint64_t chain_after = 0;  // the journal's chain after the entry's last command
  };
  Appended append(const Entry& entry, std::uint64_t expected_last);

  // The entry at `stream_sequence`, or nullopt past the end. Throws
  // Unavailable, BadEntry.
  std::optional<Entry> read(std::uint64_t stream_sequence);

  // Where a node whose journal ends at command `sequence` resumes: the entry
  // after the last one whose commands all come at or before `sequence` (1
  // when there is none). Marks after it, and commands the node holds, are
  // read again and skipped. A binary search over the stream, whose entries hold
  // consecutive commands in order. Throws Unavailable, BadEntry.
  std::uint64_t resume_after(matching::SequenceNumber sequence);

  // Entries from `from` on, in order, as they are appended: an ordered
  // JetStream consumer. next() waits up to `wait` and returns nullopt when
  // nothing came.
  class Follower {
   public:
    ~Follower();
    std::optional<Entry> next(std::chrono::milliseconds wait);

   private:
    friend class Log;
    struct Impl;
    explicit Follower(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
  };
  std::unique_ptr<Follower> follow(std::uint64_t from);

 private:
  friend class Lease;
  struct Impl;
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Leadership: one key in a JetStream key-value bucket whose entries live
// `ttl`. A node holds the lease from a successful acquire() until a renew()
// fails; one that stops renewing loses it after ttl, and another may take it.
// A leader must still treat Fenced as final: a lease can lapse while its
// holder is stopped.
class Lease {
 public:
  Lease(Log& log, std::chrono::milliseconds ttl);
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // Takes the lease when nobody holds it. Throws Unavailable.
  bool acquire();
  // Keeps it: false when another node holds it now. One that lapsed while
  // the servers could not answer is taken again if it is still free. Throws
  // Unavailable.
  bool renew();
  // Gives it up, if this node holds it, so that a standby need not wait out
  // the term (a clean stop). Throws Unavailable.
  void release();
  // The node holding it now, empty when nobody does. Throws Unavailable.
  std::string holder();

 private:
  std::optional<std::pair<std::string, std::uint64_t>> current(const std::string& doing);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpux::replication
