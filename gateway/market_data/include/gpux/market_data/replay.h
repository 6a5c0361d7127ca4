// A MarketFeed read from a whole journal: what the service does when gpuxd
// starts, and `gpux index` does on demand, so that both compute the same.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gpux/market_data/feed.h"
#include "gpux/matching/engine.h"

namespace gpux::storage {
class Journal;
}

namespace gpux::market_data {

struct JournalReplay {
  std::vector<std::string> problems;    // storage::replay_from_start's; empty: all of it
  std::uint64_t commands = 0;           // applied to the feed
  matching::Nanoseconds last_time = 0;  // the last one's stamp
};

// Applies every journaled command from sequence 1 to `feed` (which has
// applied nothing), with the events a fresh engine made with `config` gives.
// `keep_going`, when given, is asked before each command: false stops the
// replay there, with a problem saying so.
JournalReplay replay_journal(const storage::Journal& journal, const matching::EngineConfig& config,
                             MarketFeed& feed, const std::function<bool()>& keep_going = {});

}  // namespace gpux::market_data
