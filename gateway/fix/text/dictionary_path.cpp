#include "gpux/fix/dictionary_path.h"

#include <unistd.h>

#include <cstdlib>

namespace gpux {
namespace fix {
namespace {

bool readable(const std::string& path) {
  return ::access(path.c_str(), R_OK) == 0;
}

// PREFIX/share/gpux/gpux-FIX44.xml for an executable in PREFIX/bin; empty
// when the executable is elsewhere (a build tree).
std::string installed_beside_executable() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return {};
  const std::string self(path, static_cast<std::size_t>(n));
  const std::string bin = self.substr(0, self.rfind('/'));
  if (bin.size() < 4 || bin.compare(bin.size() - 4, 4, "/bin") != 0) return {};
  return bin.substr(0, bin.size() - 4) + "/share/gpux/gpux-FIX44.xml";
}

}  // namespace

std::string fix_dictionary_path() {
  if (const char* named = std::getenv("GPUX_FIX_DICTIONARY"))
    if (*named != '\0') return named;
  const std::string installed = installed_beside_executable();
  if (!installed.empty() && readable(installed)) return installed;
  return GPUX_SOURCE_FIX_DICTIONARY;
}

}  // namespace fix
}  // namespace gpux
