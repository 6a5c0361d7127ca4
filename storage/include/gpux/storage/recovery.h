// Recovery: the newest usable snapshot, then replay of the journal after it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gpux/matching/engine.h"
#include "gpux/storage/journal.h"

namespace gpux::storage {

struct Recovered {
  std::unique_ptr<matching::Engine> engine;
  SequenceNumber last_sequence = 0;            // the last command applied
  SequenceNumber snapshot_sequence = 0;        // 0 when recovery started from empty
  std::size_t replayed = 0;                    // commands replayed after the snapshot
  std::vector<std::string> skipped_snapshots;  // why newer snapshots were not used
};

// Throws JournalCorrupt (nothing is half-applied: the caller gets no engine)
// when the journal after the chosen snapshot is damaged.
Recovered recover(const Journal& journal, const matching::EngineConfig& config,
                  matching::EventListener& listener,
                  matching::BookKind book = matching::BookKind::price_ladder);

// Writes a snapshot of `engine`, which must have applied exactly the
// journal's records (the snapshot is filed under the journal's last sequence).
void take_snapshot(Journal& journal, const matching::Engine& engine);

}  // namespace gpux::storage
