// What gpux's operator subcommands share: opening a stopped gpuxd's
// configuration and journal, reading the journal from its first command
// through a fresh engine, and printing money.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gpux/daemon/config.h"
#include "gpux/matching/engine.h"
#include "gpux/storage/journal.h"

namespace gpux::ops {

// gpuxd's configuration from `file` (the defaults when empty), and its
// journal: opened alone when gpuxd is stopped, followed as it stands when
// gpuxd runs on it (saying so). On failure each prints why, after `tool`,
// and returns nothing: exit 2 for the configuration, 3 for the journal.
std::optional<daemon::DaemonConfig> load_daemon_config(const char* tool, const std::string& file);
std::unique_ptr<storage::Journal> open_journal(const char* tool, const std::string& directory);

// Applies every journaled command, from sequence 1, to `engine`, calling
// `before` with each command first. Returns what went wrong (a broken chain,
// records discarded after a snapshot, a short replay, a state that differs
// from one of gpuxd's snapshots: another configuration); empty when the
// whole journal replayed as gpuxd ran it.
std::vector<std::string> replay_journal(
    const storage::Journal& journal, matching::Engine& engine,
    const std::function<void(const matching::Command&)>& before);

// Micro-USD as a decimal dollar amount with all six places: "-12.000500".
std::string usd(matching::Money amount);

}  // namespace gpux::ops
