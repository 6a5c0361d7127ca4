// A standby's copy of the market: the replicated log's entries applied, in
// order, to an engine of its own and to its own fsynced journal, which is
// then the leader's byte for byte. It checks that: the journal's chain after
// every entry, and the engine's state hash wherever the leader sent its own
// (at the leader's snapshot points). A standby that differs stops loudly.
//
// When this node becomes the leader, the Standby is closed and gpuxd's
// pipeline opens the same journal: it recovers from the standby's newest
// snapshot and the records after it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>

#include "gpux/matching/commands.h"
#include "gpux/matching/engine.h"
#include "gpux/replication/log.h"

namespace gpux::replication {

// The standby does not hold what the leader held. Names the command sequence
// and both values; the standby applied nothing of the entry to its journal.
struct Diverged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StandbyOptions {
  std::filesystem::path data_directory;
  matching::EngineConfig engine;
  std::uint64_t snapshot_every = 1'000'000;  // commands between the standby's own snapshots
  bool sync = true;                          // fsync each entry
  // Each applied command with its events, after its entry is durable (the
  // market-data service of a standby).
  std::function<void(const matching::Command&, std::span<const matching::Event>)> observer;
};

class Standby {
 public:
  // Opens the journal and recovers it. Throws storage::StorageError,
  // storage::JournalCorrupt.
  explicit Standby(StandbyOptions options);
  ~Standby();  // closes as close() does
  Standby(const Standby&) = delete;
  Standby& operator=(const Standby&) = delete;

  matching::SequenceNumber last_sequence() const;
  std::uint64_t state_hash() const;

  // Applies the entry's commands after last_sequence() (a command already
  // held is skipped, so an entry may be seen twice) and makes them durable.
  // Throws Diverged when the entry holds this journal's last command with
  // another chain value, when it leaves a gap, or when the journal's chain
  // then differs from the entry's (all before anything is written), and
  // when the engine's state hash then differs from the leader's (the
  // entry is journaled, the engine is not to be trusted); storage errors as
  // the journal throws them.
  void apply(const Entry& entry);

  // Writes a snapshot when anything was applied since the last, and closes
  // the journal, for the pipeline to open.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpux::replication
