// Watches the free space on the data directory's filesystem. RocksDB does
// not fail gracefully on a full disk (it can abort inside the library), and
// a journal that cannot write stops the market anyway: better to refuse to
// start, or to stop cleanly, while there is still room to write a snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "gpux/daemon/config.h"

namespace gpux::daemon {

// Free MiB for an unprivileged writer on the filesystem of `path` (or of its
// nearest existing parent, for a data directory not made yet); nothing when
// it cannot be read.
std::optional<std::uint64_t> free_mb(const std::filesystem::path& path);

class DiskWatch {
 public:
  DiskWatch(std::filesystem::path directory, DiskHeadroom limits);

  // At start: a problem to refuse with (below min_free_mb), or empty; warns
  // on stderr below warn_free_mb.
  std::string check_at_start();
  // Every 10 s at most: warns once when free space falls below warn_free_mb
  // (again after it recovers), and returns true when it is below
  // min_free_mb, having said so: the caller stops gpuxd.
  bool too_low_now();

 private:
  bool below_minimum(std::uint64_t free) const { return free < limits_.min_free_mb; }
  void warn_if_low(std::uint64_t free);

  std::filesystem::path directory_;
  DiskHeadroom limits_;
  bool warned_ = false;
  std::chrono::steady_clock::time_point last_check_ = std::chrono::steady_clock::now();
};

}  // namespace gpux::daemon
