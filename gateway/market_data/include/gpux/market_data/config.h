// The market-data service's settings: plain values the daemon parses
// (docs/configuration.md names each).
#pragma once

#include <cstddef>
#include <string>

#include "gpux/market_data/index.h"

namespace gpux::market_data {

struct FeedOptions {
  IndexRule index;
  std::size_t trades_kept = 1000;  // per instrument, the newest
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  int port = 0;  // the public service; 0: none (-1 in tests: any free port)
  std::string metrics_address = "127.0.0.1";
  int metrics_port = 0;          // 0: none (-1: any free port)
  int requests_per_second = 20;  // per source address, HTTP requests and WebSocket messages
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_address = 64;
  std::size_t max_queued_bytes = 4u << 20;  // per WebSocket subscriber
  // Updates to subscribers go out at most this often, each with every change
  // since the last: what a thousand subscribers cost the machine is a
  // thousand writes an interval, however busy the market.
  int update_ms = 100;
  // The service thread's nice value (0..19): above the pipeline's 0, so that
  // when the cores are short, trading gets them before the public feed does.
  int nice = 10;
  FeedOptions feed;
};

}  // namespace gpux::market_data
