#include "report/journal_replay.h"

#include <cstdio>
#include <filesystem>

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

}  // namespace gpux::ops
