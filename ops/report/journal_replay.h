// What gpux's operator subcommands share: opening a stopped gpuxd's
// configuration and journal (storage::replay_from_start reads it through a
// fresh engine), and printing money.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gpux/daemon/config.h"
#include "gpux/market_data/api.h"
#include "gpux/matching/engine.h"
#include "gpux/storage/journal.h"

namespace gpux::ops {

// gpuxd's configuration from `file` (the defaults when empty), and its
// journal: opened alone when gpuxd is stopped, followed as it stands when
// gpuxd runs on it (saying so). On failure each prints why, after `tool`,
// and returns nothing: exit 2 for the configuration, 3 for the journal.
std::optional<daemon::DaemonConfig> load_daemon_config(const char* tool, const std::string& file);
std::unique_ptr<storage::Journal> open_journal(const char* tool, const std::string& directory);

// Micro-USD as a decimal dollar amount with all six places: "-12.000500".
using market_data::usd;  // one writer of money, shared with the public API

}  // namespace gpux::ops
