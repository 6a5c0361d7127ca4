#include "gpux/storage/recovery.h"

#include <map>
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

std::vector<std::string> replay_from_start(
    const Journal& journal, matching::Engine& engine,
    const std::function<void(const matching::Command&)>& before) {
  std::vector<std::string> problems;
  // gpuxd's snapshots hold its engine's state hash: a replay that differs
  // there was given other fees or delivery terms than gpuxd ran with (only
  // possible for a journal from before SetMarketTerms, whose terms are the
  // configuration's), and everything it computes would be quietly wrong.
  std::map<matching::SequenceNumber, std::uint64_t> snapshot_hashes;
  for (const StoredSnapshot& snapshot : journal.snapshots())
    snapshot_hashes[snapshot.sequence] = snapshot.state_hash;
  const auto compare_with_snapshot = [&](matching::SequenceNumber at) {
    const auto found = snapshot_hashes.find(at);
    if (found == snapshot_hashes.end() || engine.state_hash() == found->second) return;
    problems.push_back("the replay's state after command " + std::to_string(at) +
                       " differs from gpuxd's snapshot there: this journal is from before "
                       "gpuxd journaled its market terms, so give the configuration gpuxd "
                       "ran with (--config), whose fees and delivery terms decide the replay");
    snapshot_hashes.clear();  // once is enough
  };
  std::uint64_t commands = 0;
  try {
    journal.replay(0, 0, [&](const matching::Command& c, std::string_view) {
      // A journal pruned after a snapshot cannot be replayed from nothing.
      if (c.stamp.sequence != commands + 1)
        throw JournalCorrupt(c.stamp.sequence,
                             "journal does not start at 1 (records "
                             "discarded after a snapshot?)");
      compare_with_snapshot(commands);
      before(c);
      engine.apply(c);
      ++commands;
    });
    compare_with_snapshot(commands);
  } catch (const std::exception& e) {
    problems.push_back(std::string("replay stopped: ") + e.what());
  }
  if (commands != journal.last_sequence())
    problems.push_back("replayed " + std::to_string(commands) + " of " +
                       std::to_string(journal.last_sequence()) + " journaled commands");
  return problems;
}

}  // namespace gpux::storage
