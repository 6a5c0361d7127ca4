#include "gpux/storage/recovery.h"

#include <stdexcept>

namespace gpux::storage {

Recovered recover(const Journal& journal, const matching::EngineConfig& config,
                  matching::EventListener& listener, matching::BookKind book,
                  const ReplayObserver& observer) {
  Recovered result;
  std::uint64_t chain = 0;
  for (const StoredSnapshot& snapshot : journal.snapshots()) {
    const std::string name = "snapshot at " + std::to_string(snapshot.sequence);
    if (snapshot.sequence > journal.last_sequence()) {
      result.skipped_snapshots.push_back(name + ": newer than the journal");
      continue;
    }
    if (snapshot.sequence > observer.after) continue;  // an older one serves the observer
    try {
      auto engine = matching::restore_engine(config, listener, snapshot.state, book);
      if (engine->state_hash() != snapshot.state_hash) {
        result.skipped_snapshots.push_back(name + ": state hash differs");
        continue;
      }
      result.engine = std::move(engine);
      result.snapshot_sequence = result.last_sequence = snapshot.sequence;
      chain = snapshot.journal_chain;
      break;
    } catch (const std::invalid_argument& e) {
      result.skipped_snapshots.push_back(name + ": " + e.what());
    }
  }
  if (!result.engine) result.engine = matching::make_engine(config, listener, book);
  journal.replay(result.last_sequence, chain,
                 [&](const matching::Command& command, std::string_view origin) {
                   result.engine->apply(command);
                   if (observer.replayed && command.stamp.sequence > observer.after)
                     observer.replayed(command, origin);
                   result.last_sequence = command.stamp.sequence;
                   ++result.replayed;
                 });
  return result;
}

void take_snapshot(Journal& journal, const matching::Engine& engine) {
  journal.write_snapshot(
      {journal.last_sequence(), engine.state_hash(), journal.last_chain(), engine.snapshot()});
}

}  // namespace gpux::storage
