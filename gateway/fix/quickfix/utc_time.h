// FIX's UTCTimestamp to the second ("20261123-15:00:00"), for the acceptor's
// instrument terms and the session logs' line stamps. C++14.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace gpux {
namespace fix {

inline std::string utc_seconds(std::int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  std::tm parts;
  gmtime_r(&t, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H:%M:%S", &parts);
  return text;
}

}  // namespace fix
}  // namespace gpux
