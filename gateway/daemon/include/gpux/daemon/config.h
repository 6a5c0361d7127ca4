// gpuxd's configuration file: `key = value` lines, `#` comments. Settings
// have defaults; bootstrap lines (participants, instruments, capacity) are
// turned into commands that run once, when the journal is empty.
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpux/daemon/calendar.h"
#include "gpux/fix/config.h"
#include "gpux/market_data/config.h"
#include "gpux/matching/commands.h"
#include "gpux/provider/config.h"
#include "gpux/replication/config.h"
#include "gpux/sequencer/pipeline.h"

namespace gpux::daemon {

// Names the file, line and key that are wrong.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Free space on the data directory's filesystem, looked at when gpuxd starts
// and while it runs (daemon/src/disk_headroom.h): RocksDB must never meet a
// full disk, so gpuxd stops before it would.
struct DiskHeadroom {
  std::uint64_t min_free_mb = 256;    // below: refuse to start, or stop
  std::uint64_t warn_free_mb = 2048;  // below: warn, once each time it is crossed
};

struct DaemonConfig {
  sequencer::PipelineOptions pipeline;
  DiskHeadroom disk;
  std::vector<matching::CommandBody> bootstrap;
  Calendar calendar;
  fix::FixConfig fix;
  provider::VerificationConfig verification;
  provider::ProviderApiConfig provider;
  market_data::ServerOptions market_data;
  replication::ClusterOptions cluster;
};

DaemonConfig load_config(const std::filesystem::path& file);
DaemonConfig parse_config(const std::string& text, const std::string& origin);

// The documented keys and their defaults, for --help.
const char* config_reference();

// Market terms as configuration keys: "buyer_fee_ppm=4000
// challenges_per_obligation=4 penalty_ppm=250000 challenge_seed=99".
std::string describe(const matching::SetMarketTerms& terms);

}  // namespace gpux::daemon
