// Driving a real gpuxd over its command stream in a test: one command in,
// its acknowledged events out; and counting what its log says.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gpux/storage/codec.h"
#include "gpuxd_process.h"

namespace gpux::test {

inline proto::Command command_of(const matching::CommandBody& body) {
  return storage::encode(matching::Command{{0, 0}, body});
}

// Sends one command and reads its acknowledgement; its events.
inline std::vector<proto::Event> execute(GpuxdProcess& daemon, const matching::CommandBody& body) {
  REQUIRE(daemon.send(command_of(body)));
  const auto ack = daemon.read();
  REQUIRE(ack);
  REQUIRE(ack->has_acknowledgement());
  return {ack->acknowledgement().events().begin(), ack->acknowledgement().events().end()};
}

// The wall clock in Unix seconds, as gpuxd's calendar and delivery see it.
inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Lines of `file` that contain `needle`.
inline std::size_t count_lines(const std::filesystem::path& file, const std::string& needle) {
  std::ifstream in(file);
  std::size_t count = 0;
  for (std::string line; std::getline(in, line);)
    count += line.find(needle) != std::string::npos;
  return count;
}

}  // namespace gpux::test
