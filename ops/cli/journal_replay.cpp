#include "cli/journal_replay.h"

#include <cstdio>

namespace gpux::ops {

std::vector<std::string> replay_journal(
    const storage::Journal& journal, matching::Engine& engine,
    const std::function<void(const matching::Command&)>& before) {
  std::vector<std::string> problems;
  std::uint64_t commands = 0;
  try {
    journal.replay(0, 0, [&](const matching::Command& c, std::string_view) {
      // A journal pruned after a snapshot cannot be replayed from nothing.
      if (c.stamp.sequence != commands + 1)
        throw storage::JournalCorrupt(c.stamp.sequence,
                                      "journal does not start at 1 (records "
                                      "discarded after a snapshot?)");
      before(c);
      engine.apply(c);
      ++commands;
    });
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
