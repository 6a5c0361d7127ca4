// gpux-bench-subscribers: N WebSocket subscribers of gpuxd's market data on
// one thread, for S seconds. Each checks that it got every update (their
// sequences only grow, and every subscriber ends on the same one) and
// records how late each update arrived: now minus the update's
// published_us, the moment gpuxd's publisher handed over its first durable
// command. Meant to run beside gpux-bench-fix (--beside), which A/Bs the
// FIX round trips with and without it. Prints a table, writes JSON.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "arguments.h"
#include "latency_histogram.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::size_t subscribers = 1000;
  std::size_t seconds = 10;
  std::string json = "out/bench-subscribers.json";
};

void usage(const char*) {
  std::fprintf(
      stderr,
      "usage: gpux-bench-subscribers --port P [--host H] [--subscribers N] [--seconds S]\n"
      "                              [--json FILE]\n"
      "N WebSocket subscribers of ws://H:P/api/v1/stream (gpuxd's market_data_port) for S\n"
      "seconds; each counts its updates and how late they came (now - published_us).\n"
      "gpuxd must allow N connections from this address\n"
      "(market_data_max_connections_per_address).\n");
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The integer after `"key":` in a JSON text we know the shape of.
std::int64_t field(const std::string& json, const char* key) {
  const std::string wanted = std::string("\"") + key + "\":";
  const auto at = json.find(wanted);
  if (at == std::string::npos) return -1;
  std::int64_t value = -1;  // stays -1 when it is not a number
  std::from_chars(json.data() + at + wanted.size(), json.data() + json.size(), value);
  return value;
}

struct Totals {
  gpux::bench::LatencyHistogram late;  // nanoseconds, as the histogram counts
  std::size_t connected = 0;
  std::size_t failed = 0;
  std::size_t closed_early = 0;
  std::size_t out_of_order = 0;
  std::uint64_t messages = 0;
};

struct Subscriber : std::enable_shared_from_this<Subscriber> {
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buffer;
  Totals& totals;
  std::int64_t last_sequence = 0;
  bool open = false;

  Subscriber(asio::io_context& io, Totals& t) : ws(io), totals(t) {}

  void start(const tcp::resolver::results_type& endpoints, const std::string& host) {
    beast::get_lowest_layer(ws).async_connect(
        endpoints, [self = shared_from_this(), host](beast::error_code error, const auto&) {
          if (error) {
            ++self->totals.failed;
            return;
          }
          self->ws.async_handshake(host, "/api/v1/stream", [self](beast::error_code handshake) {
            if (handshake) {
              ++self->totals.failed;
              return;
            }
            self->open = true;
            ++self->totals.connected;
            self->read();
          });
        });
  }
  void read() {
    ws.async_read(buffer, [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (error) {
        if (error != asio::error::operation_aborted && self->open) ++self->totals.closed_early;
        self->open = false;
        return;
      }
      const std::string text = beast::buffers_to_string(self->buffer.data());
      self->buffer.clear();
      const std::int64_t published = field(text, "published_us");
      const std::int64_t sequence = field(text, "sequence");
      if (published > 0)
        self->totals.late.record(
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_us() - published)) * 1000);
      if (sequence <= self->last_sequence) ++self->totals.out_of_order;
      self->last_sequence = sequence;
      ++self->totals.messages;
      self->read();
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  gpux::bench::Arguments args(argc, argv, usage);
  while (args.next()) {
    if (args.is("--port")) {
      o.port = args.value();
    } else if (args.is("--host")) {
      o.host = args.value();
    } else if (args.is("--subscribers")) {
      o.subscribers = args.count(1);
    } else if (args.is("--seconds")) {
      o.seconds = args.count(1);
    } else if (args.is("--json")) {
      o.json = args.value();
    } else {
      args.unknown();
    }
  }
  if (o.port.empty()) {
    usage(argv[0]);
    return 2;
  }
  asio::io_context io{1};
  Totals totals;
  std::vector<std::shared_ptr<Subscriber>> all;
  try {
    const auto endpoints = tcp::resolver(io).resolve(o.host, o.port);
    for (std::size_t k = 0; k < o.subscribers; ++k) {
      all.push_back(std::make_shared<Subscriber>(io, totals));
      all.back()->start(endpoints, o.host);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpux-bench-subscribers: %s:%s: %s\n", o.host.c_str(), o.port.c_str(),
                 e.what());
    return 1;
  }
  asio::steady_timer end(io, std::chrono::seconds(o.seconds));
  end.async_wait([&](beast::error_code) {
    for (const auto& s : all) {
      s->open = false;
      beast::error_code ignored;
      beast::get_lowest_layer(s->ws).socket().close(ignored);
    }
  });
  io.run();

  long long lowest_last = -1, highest_last = -1;
  for (const auto& s : all) {
    if (s->last_sequence == 0) continue;
    if (lowest_last < 0 || s->last_sequence < lowest_last) lowest_last = s->last_sequence;
    highest_last = std::max<long long>(highest_last, s->last_sequence);
  }
  const auto us = [](std::uint64_t ns) { return static_cast<unsigned long long>(ns / 1000); };
  std::printf(
      "| subscribers | connected | failed | dropped | messages | out of order | "
      "last seq (min..max) | late p50 µs | p99 µs | max µs |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| %zu | %zu | %zu | %zu | %llu | %zu | %lld..%lld | %llu | %llu | %llu |\n",
              o.subscribers, totals.connected, totals.failed, totals.closed_early,
              static_cast<unsigned long long>(totals.messages), totals.out_of_order, lowest_last,
              highest_last, us(totals.late.percentile(0.5)), us(totals.late.percentile(0.99)),
              us(totals.late.max()));
  std::ofstream json(o.json);
  json << "{\"subscribers\":" << o.subscribers << ",\"connected\":" << totals.connected
       << ",\"failed\":" << totals.failed << ",\"dropped\":" << totals.closed_early
       << ",\"messages\":" << totals.messages << ",\"out_of_order\":" << totals.out_of_order
       << ",\"last_sequence_min\":" << lowest_last << ",\"last_sequence_max\":" << highest_last
       << ",\"late_p50_us\":" << us(totals.late.percentile(0.5))
       << ",\"late_p99_us\":" << us(totals.late.percentile(0.99))
       << ",\"late_max_us\":" << us(totals.late.max()) << "}\n";
  // Every subscriber got every update: none failed, dropped or saw the
  // sequence go back, and all ended on the same one.
  return totals.failed == 0 && totals.closed_early == 0 && totals.out_of_order == 0 &&
                 lowest_last == highest_last
             ? 0
             : 1;
}
