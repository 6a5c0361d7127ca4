#include "report/journal_replay.h"

#include <cstdio>
#include <filesystem>
#include <map>

namespace gpux::ops {

std::optional<daemon::DaemonConfig> load_daemon_config(const char* tool, const std::string& file) {
  if (file.empty()) return daemon::DaemonConfig{};
  try {
    return daemon::load_config(file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
    return std::nullopt;
  }
}

std::unique_ptr<storage::Journal> open_journal(const char* tool, const std::string& directory) {
  // Opening creates a journal where there is none: a mistyped path would be
  // audited as an empty exchange, and "reconciled".
  std::error_code error;
  if (!std::filesystem::exists(std::filesystem::path(directory) / "CURRENT", error)) {
    std::fprintf(stderr, "%s: cannot open %s: no gpux journal there (give gpuxd's data_dir)\n",
                 tool, directory.c_str());
    return nullptr;
  }
  std::string why;
  try {
    return storage::Journal::open(directory);
  } catch (const std::exception& e) {
    why = e.what();
  }
  // RocksDB's lock: gpuxd runs on it. Follow it instead, as it stands now.
  if (why.find("lock") == std::string::npos) {
    std::fprintf(stderr, "%s: cannot open %s: %s\n", tool, directory.c_str(), why.c_str());
    return nullptr;
  }
  try {
    auto journal = storage::Journal::open_following(directory);
    std::fprintf(stderr,
                 "%s: gpuxd is running on %s: reading its journal as it stands, through "
                 "command %llu\n",
                 tool, directory.c_str(),
                 static_cast<unsigned long long>(journal->last_sequence()));
    return journal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot open %s while gpuxd runs on it: %s\n", tool, directory.c_str(),
                 e.what());
    return nullptr;
  }
}

std::vector<std::string> replay_journal(
    const storage::Journal& journal, matching::Engine& engine,
    const std::function<void(const matching::Command&)>& before) {
  std::vector<std::string> problems;
  // gpuxd's snapshots hold its engine's state hash: a replay that differs
  // there was given other fees or delivery terms than gpuxd ran with (only
  // possible for a journal from before SetMarketTerms, whose terms are the
  // configuration's), and everything it computes would be quietly wrong.
  std::map<matching::SequenceNumber, std::uint64_t> snapshot_hashes;
  for (const storage::StoredSnapshot& snapshot : journal.snapshots())
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
        throw storage::JournalCorrupt(c.stamp.sequence,
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

std::string usd(matching::Money amount) {
  // Negated as unsigned: the most negative amount has no signed opposite.
  const auto magnitude = amount < 0 ? 0ull - static_cast<unsigned long long>(amount)
                                    : static_cast<unsigned long long>(amount);
  char text[64];
  std::snprintf(text, sizeof text, "%s%llu.%06llu", amount < 0 ? "-" : "", magnitude / 1'000'000,
                magnitude % 1'000'000);
  return text;
}

}  // namespace gpux::ops
