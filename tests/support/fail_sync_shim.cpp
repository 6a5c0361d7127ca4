// An LD_PRELOAD shim for fault-injection tests: fsync and fdatasync fail
// with EIO once the file named by $GPUX_FAIL_SYNC_WHEN exists, and behave
// normally before. A test starts gpuxd with it, lets orders be acknowledged,
// then creates the file: the next journal commit fails exactly as on a disk
// whose write-back failed.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace {

bool failing() {
  static const char* const flag = std::getenv("GPUX_FAIL_SYNC_WHEN");
  return flag != nullptr && ::access(flag, F_OK) == 0;
}

using SyncCall = int (*)(int);

SyncCall next(const char* name) {
  return reinterpret_cast<SyncCall>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int fsync(int fd) {
  static const SyncCall real = next("fsync");
  if (failing()) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

extern "C" int fdatasync(int fd) {
  static const SyncCall real = next("fdatasync");
  if (failing()) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
