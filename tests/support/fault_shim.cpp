// An LD_PRELOAD shim for fault-injection tests, driven by the environment:
//
// - GPUX_FAIL_SYNC_WHEN=FILE: fsync and fdatasync fail with EIO once FILE
//   exists, as on a disk whose write-back failed.
// - GPUX_FAIL_WRITE_WHEN=FILE with GPUX_FAIL_WRITE_IN=DIR: writes to the
//   files in DIR (not in its subdirectories) fail with ENOSPC once FILE
//   exists, as on a full disk; sockets, pipes and other files are untouched.
// - GPUX_SYNC_AUDIT=PATTERN with GPUX_SYNC_AUDIT_LOG=FILE: tracks, per open
//   descriptor, whether the files whose path contains PATTERN hold writes
//   not yet fsynced, and for every FIX message sent on a socket appends a
//   line to FILE: "synced" or "unsynced" (a power loss then could lose what
//   the message was stored as).
//
// A test starts gpuxd with it, lets orders be acknowledged, then creates the
// file: the next journal commit fails exactly as the kernel would fail it.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

bool exists(const char* flag) {
  return flag != nullptr && ::access(flag, F_OK) == 0;
}

std::string path_of(int fd) {
  char link[64];
  char target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

bool in_directory(int fd, const char* directory) {
  if (directory == nullptr) return false;
  const std::string path = path_of(fd);
  const auto slash = path.rfind('/');
  return slash != std::string::npos && path.compare(0, slash, directory) == 0 &&
         std::strlen(directory) == slash;
}

bool audited(int fd) {
  static const char* const pattern = std::getenv("GPUX_SYNC_AUDIT");
  return pattern != nullptr && path_of(fd).find(pattern) != std::string::npos;
}

// Per descriptor of an audited file: writes to it, and how many of them its
// last fsync covered. A message sent while any is behind was not durable.
constexpr int kDescriptors = 4096;
std::atomic<long> audited_writes[kDescriptors];
std::atomic<long> audited_synced[kDescriptors];

bool all_synced() {
  for (int fd = 0; fd < kDescriptors; ++fd)
    if (audited_synced[fd].load() < audited_writes[fd].load()) return false;
  return true;
}

template <typename Call>
Call next(const char* name) {
  return reinterpret_cast<Call>(::dlsym(RTLD_NEXT, name));
}

using SyncCall = int (*)(int);

// The real call named `name`, unless the test has asked for failures.
int sync_or_fail(const char* name, int fd) {
  static const char* const flag = std::getenv("GPUX_FAIL_SYNC_WHEN");
  if (exists(flag)) {
    errno = EIO;
    return -1;
  }
  const bool audit = fd >= 0 && fd < kDescriptors && audited(fd);
  const long covered = audit ? audited_writes[fd].load() : 0;
  const int result = next<SyncCall>(name)(fd);
  if (result == 0 && audit) {
    long synced = audited_synced[fd].load();
    while (synced < covered && !audited_synced[fd].compare_exchange_weak(synced, covered)) {
    }
  }
  return result;
}

// Whether a write to `fd` must fail as on a full disk.
bool disk_full(int fd) {
  static const char* const flag = std::getenv("GPUX_FAIL_WRITE_WHEN");
  static const char* const directory = std::getenv("GPUX_FAIL_WRITE_IN");
  return exists(flag) && in_directory(fd, directory);
}

void note_write(int fd, ssize_t result) {
  if (result > 0 && fd >= 0 && fd < kDescriptors && audited(fd)) ++audited_writes[fd];
}

void note_send(const void* data, std::size_t size) {
  static const char* const log = std::getenv("GPUX_SYNC_AUDIT_LOG");
  if (log == nullptr || size < 5 || std::memcmp(data, "8=FIX", 5) != 0) return;
  const char* line = all_synced() ? "synced\n" : "unsynced\n";
  // Straight to the kernel: this shim's own write() would audit itself.
  const int fd = static_cast<int>(::syscall(SYS_open, log, O_WRONLY | O_APPEND | O_CREAT, 0600));
  if (fd < 0) return;
  ::syscall(SYS_write, fd, line, std::strlen(line));
  ::syscall(SYS_close, fd);
}

}  // namespace

extern "C" int fsync(int fd) {
  return sync_or_fail("fsync", fd);
}

extern "C" int fdatasync(int fd) {
  return sync_or_fail("fdatasync", fd);
}

extern "C" ssize_t write(int fd, const void* data, std::size_t size) {
  if (disk_full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  const ssize_t result = next<ssize_t (*)(int, const void*, std::size_t)>("write")(fd, data, size);
  note_write(fd, result);
  return result;
}

extern "C" ssize_t pwrite(int fd, const void* data, std::size_t size, off_t offset) {
  if (disk_full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  const ssize_t result =
      next<ssize_t (*)(int, const void*, std::size_t, off_t)>("pwrite")(fd, data, size, offset);
  note_write(fd, result);
  return result;
}

// A descriptor closed is forgotten: its number may name another file next.
extern "C" int close(int fd) {
  if (fd >= 0 && fd < kDescriptors) {
    audited_writes[fd] = 0;
    audited_synced[fd] = 0;
  }
  return next<int (*)(int)>("close")(fd);
}

extern "C" ssize_t send(int fd, const void* data, std::size_t size, int flags) {
  note_send(data, size);
  return next<ssize_t (*)(int, const void*, std::size_t, int)>("send")(fd, data, size, flags);
}
