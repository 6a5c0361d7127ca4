#include "gpux/market_data/replay.h"

#include <optional>
#include <stdexcept>

#include "gpux/storage/journal.h"
#include "gpux/storage/recovery.h"

namespace gpux::market_data {

JournalReplay replay_journal(const storage::Journal& journal, const matching::EngineConfig& config,
                             MarketFeed& feed, const std::function<bool()>& keep_going) {
  // The engine tells each command's events as it applies it; replay
  // announces a command before, not after: each command goes to the feed
  // when the next one is announced, and the last at the end.
  struct Collect : matching::EventListener {
    std::vector<matching::Event> events;
    void on_event(const matching::Event& event) override { events.push_back(event); }
  } collect;
  JournalReplay result;
  std::optional<matching::Command> pending;
  const auto finish = [&] {
    if (pending) {
      feed.apply(*pending, collect.events);
      ++result.commands;
      result.last_time = pending->stamp.time;
    }
    pending.reset();
    collect.events.clear();
  };
  auto engine = matching::make_engine(config, collect);
  result.problems =
      storage::replay_from_start(journal, *engine, [&](const matching::Command& command) {
        finish();
        if (keep_going && !keep_going()) throw std::runtime_error("stopped before its end");
        pending = command;
      });
  finish();
  return result;
}

}  // namespace gpux::market_data
