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
#include "gpux/matching/commands.h"
#include "gpux/provider/config.h"
#include "gpux/sequencer/pipeline.h"

namespace gpux::daemon {

// Names the file, line and key that are wrong.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct DaemonConfig {
  sequencer::PipelineOptions pipeline;
  std::vector<matching::CommandBody> bootstrap;
  Calendar calendar;
  fix::FixConfig fix;
  provider::VerificationConfig verification;
  provider::ProviderApiConfig provider;
};

DaemonConfig load_config(const std::filesystem::path& file);
DaemonConfig parse_config(const std::string& text, const std::string& origin);

// The documented keys and their defaults, for --help.
const char* config_reference();

}  // namespace gpux::daemon
