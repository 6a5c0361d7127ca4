// Recovery: the newest usable snapshot, then replay of the journal after it.
#pragma once

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
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

// For a gateway that must see again what happened after its own checkpoint:
// recovery then starts from a snapshot no newer than `after`, and calls
// `replayed` after applying each command past it (the listener has just
// received that command's events).
struct ReplayObserver {
  SequenceNumber after = std::numeric_limits<SequenceNumber>::max();
  std::function<void(const matching::Command&, std::string_view origin)> replayed;
};

// Throws JournalCorrupt (nothing is half-applied: the caller gets no engine)
// when the journal after the chosen snapshot is damaged.
Recovered recover(const Journal& journal, const matching::EngineConfig& config,
                  matching::EventListener& listener,
                  matching::BookKind book = matching::BookKind::price_ladder,
                  const ReplayObserver& observer = {});

// Applies every journaled command, from sequence 1, to `engine`, calling
// `before` with each command first: what a reader of the whole history (the
// audit, reports, the market-data service, `gpux index`) runs. Returns what
// went wrong (a broken chain, records discarded after a snapshot, a short
// replay, a state that differs from one of gpuxd's snapshots: another
// configuration); empty when the whole journal replayed as gpuxd ran it.
std::vector<std::string> replay_from_start(
    const Journal& journal, matching::Engine& engine,
    const std::function<void(const matching::Command&)>& before);

// Writes a snapshot of `engine`, which must have applied exactly the
// journal's records (the snapshot is filed under the journal's last sequence).
void take_snapshot(Journal& journal, const matching::Engine& engine);

}  // namespace gpux::storage
