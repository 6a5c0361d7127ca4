// The public market-data service and the operator's metrics endpoint, over
// HTTP/1.1 and WebSocket (Boost.Beast), on one thread of their own.
//
// It follows the journal's published events (observe(), from the pipeline's
// publisher thread, which only queues them) and keeps its own MarketFeed: it
// never takes the engine's or a gateway's lock. On start it reads the whole
// journal through a replay of its own, so that the tape, candles and index
// are the journal's, whatever gpuxd restarted from.
//
// Public: the page at /, its charting library at /chart.js, the JSON API
// (api.h) and updates over WebSocket at /api/v1/stream. Metrics: /metrics, in
// the Prometheus text format, on its own listener. Requests are rate-limited
// per source address (429, with Retry-After); connections are capped in all
// and per address; a subscriber that falls behind by more than
// max_queued_bytes is disconnected, so that one slow reader costs no memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "gpux/market_data/config.h"
#include "gpux/market_data/feed.h"
#include "gpux/matching/engine.h"

namespace gpux::market_data {

class Server {
 public:
  // `metrics` writes the rest of the Prometheus page (the pipeline's, the
  // gateways'), called on the service's thread for each scrape.
  using MetricsWriter = std::function<void(std::string&)>;

  // Binds both listeners; throws std::runtime_error naming the address when
  // one cannot be bound. Serves nothing until start().
  Server(ServerOptions options, MetricsWriter metrics);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;          // bound, 0 when off
  int metrics_port() const;  // bound, 0 when off

  // From the publisher thread: a durable command and its events. Queued;
  // applied on the service's thread in sequence order.
  void observe(const matching::Command& command, std::span<const matching::Event> events);

  // Starts the thread. It first reads the journal in `data_directory` from
  // its first command (a RocksDB secondary instance, while gpuxd writes it)
  // through an engine made with `config`; where that journal cannot be read
  // from the start (pruned after a snapshot), it begins from `recovered`,
  // without history, and says so on stderr. Then the queued and later
  // commands.
  void start(const std::filesystem::path& data_directory, const matching::EngineConfig& config,
             const matching::EngineSnapshot& recovered,
             matching::SequenceNumber recovered_sequence);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpux::market_data
