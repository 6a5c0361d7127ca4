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

// The real call named `name`, unless the test has asked for failures.
int sync_or_fail(const char* name, int fd) {
  if (failing()) {
    errno = EIO;
    return -1;
  }
  return reinterpret_cast<SyncCall>(::dlsym(RTLD_NEXT, name))(fd);
}

}  // namespace

extern "C" int fsync(int fd) {
  return sync_or_fail("fsync", fd);
}

extern "C" int fdatasync(int fd) {
  return sync_or_fail("fdatasync", fd);
}
