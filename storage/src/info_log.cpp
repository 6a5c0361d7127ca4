#include "gpux/storage/info_log.h"

#include <rocksdb/env.h>

#include <cstdarg>
#include <cstdio>

namespace gpux::storage {
namespace {

class StderrLogger final : public rocksdb::Logger {
 public:
  explicit StderrLogger(std::string name)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), name_(std::move(name)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[2048];
    std::vsnprintf(line, sizeof line, format, ap);
    // One fprintf per line: stderr is unbuffered, so lines do not interleave.
    std::fprintf(stderr, "gpuxd: rocksdb %s: %s\n", name_.c_str(), line);
  }

 private:
  std::string name_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> stderr_info_log(std::string name) {
  return std::make_shared<StderrLogger>(std::move(name));
}

}  // namespace gpux::storage
