#include "disk_headroom.h"

#include <sys/statvfs.h>

#include <cstdio>

namespace gpux::daemon {

std::optional<std::uint64_t> free_mb(const std::filesystem::path& path) {
  std::filesystem::path existing = std::filesystem::absolute(path);
  std::error_code error;
  while (!std::filesystem::exists(existing, error) && existing.has_parent_path() &&
         existing != existing.parent_path())
    existing = existing.parent_path();
  struct statvfs stats {};
  if (::statvfs(existing.c_str(), &stats) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(stats.f_bavail) * stats.f_frsize / (1u << 20);
}

DiskWatch::DiskWatch(std::filesystem::path directory, DiskHeadroom limits)
    : directory_(std::move(directory)), limits_(limits) {}

std::string DiskWatch::check_at_start() {
  const auto free = free_mb(directory_);
  if (!free) return {};  // unknowable (e.g. a filesystem without statvfs): RocksDB will say
  if (below_minimum(*free))
    return "only " + std::to_string(*free) + " MiB free on the filesystem of " +
           directory_.string() + " (min_free_mb = " + std::to_string(limits_.min_free_mb) +
           "): free some space, then start again";
  warn_if_low(*free);
  return {};
}

bool DiskWatch::too_low_now() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_check_ < std::chrono::seconds(10)) return false;
  last_check_ = now;
  const auto free = free_mb(directory_);
  if (!free) return false;
  if (below_minimum(*free)) {
    std::fprintf(stderr,
                 "gpuxd: FATAL: only %llu MiB free on the filesystem of %s (min_free_mb = %llu); "
                 "stopping before the journal meets a full disk\n",
                 static_cast<unsigned long long>(*free), directory_.c_str(),
                 static_cast<unsigned long long>(limits_.min_free_mb));
    return true;
  }
  warn_if_low(*free);
  return false;
}

void DiskWatch::warn_if_low(std::uint64_t free) {
  const bool low = free < limits_.warn_free_mb;
  if (low && !warned_)
    std::fprintf(stderr,
                 "gpuxd: WARNING: only %llu MiB free on the filesystem of %s (warn_free_mb = "
                 "%llu); gpuxd stops below min_free_mb = %llu\n",
                 static_cast<unsigned long long>(free), directory_.c_str(),
                 static_cast<unsigned long long>(limits_.warn_free_mb),
                 static_cast<unsigned long long>(limits_.min_free_mb));
  warned_ = low;
}

}  // namespace gpux::daemon
