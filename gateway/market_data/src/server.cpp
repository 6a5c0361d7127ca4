#include "gpux/market_data/server.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "gpux/admission/admission.h"
#include "gpux/market_data/api.h"
#include "gpux/market_data/chart_library.h"
#include "gpux/market_data/prometheus.h"
#include "gpux/market_data/replay.h"
#include "gpux/storage/journal.h"
#include "page.h"

namespace gpux::market_data {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kRequestBytes = 8192;        // a GET needs no more
constexpr std::size_t kClientMessageBytes = 1024;  // subscribers have nothing to say
constexpr auto kIdle = std::chrono::seconds(30);
constexpr std::size_t kMetricsConnections = 16;  // scrapers are few

// What the service never reads: the ledger's and accounts' events, which
// settlement and deposits bring by the hundred. Anything else (a new kind
// too) is followed.
bool read_by_service(const matching::Event& event) {
  using namespace matching;
  return !(std::holds_alternative<LedgerPosting>(event) ||
           std::holds_alternative<CashAdjusted>(event) ||
           std::holds_alternative<CollateralChanged>(event) ||
           std::holds_alternative<SellCapacitySet>(event) ||
           std::holds_alternative<ChallengeScheduled>(event) ||
           std::holds_alternative<ParticipantAdded>(event) ||
           std::holds_alternative<SeatSet>(event) || std::holds_alternative<ProviderSet>(event) ||
           std::holds_alternative<DeliveryKeyChanged>(event));
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Requests per source address in the current second.
class RateLimit {
 public:
  explicit RateLimit(int per_second) : per_second_(per_second) {}
  // Whether `address` may make one more request now (and counts it).
  bool allow(const std::string& address) {
    const auto second = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    if (second != second_) {  // a new second: every count starts again
      second_ = second;
      counts_.clear();
    }
    return ++counts_[address] <= per_second_;
  }

 private:
  const int per_second_;
  std::int64_t second_ = -1;
  std::map<std::string, int> counts_;
};

tcp::acceptor listen_on(asio::io_context& io, const std::string& address, int port,
                        const char* what) {
  try {
    const tcp::endpoint endpoint(asio::ip::make_address(address),
                                 static_cast<unsigned short>(port < 0 ? 0 : port));
    tcp::acceptor acceptor(io, endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
    return acceptor;
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot listen for ") + what + " on " + address +
                             " port " + std::to_string(port) + ": " + e.what());
  }
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  MetricsWriter metrics;
  // Before the io_context, so that it outlives it: the handlers that
  // io_context destroys with it own connections (Admitted) that release
  // themselves here.
  admission::ConnectionCount connections;
  // The metrics listener's own, so that a public flood cannot keep the
  // operator's scrapes out.
  admission::ConnectionCount metrics_connections{{.max_connections = kMetricsConnections,
                                                  .max_per_address = kMetricsConnections,
                                                  .max_connections_setting = "metrics (fixed)",
                                                  .max_per_address_setting = "metrics (fixed)"}};
  asio::io_context io{1};
  std::optional<tcp::acceptor> public_listener;
  std::optional<tcp::acceptor> metrics_listener;
  std::thread thread;
  std::atomic<bool> stopping{false};

  // The publisher's hand-off: the only state two threads share.
  struct Pending {
    matching::Command command;
    std::vector<matching::Event> events;
    std::int64_t published_us = 0;
  };
  std::mutex queue_mutex;
  std::vector<Pending> queue;
  bool drain_posted = false;

  // Everything below: the service's thread only.
  MarketFeed feed;
  RateLimit rate;
  // What the service counts of itself, for /metrics.
  struct Counters {
    std::uint64_t requests = 0;
    std::uint64_t rate_limited = 0;
    std::uint64_t slow_disconnects = 0;  // subscribers dropped for falling behind
    std::uint64_t updates_sent = 0;      // messages, all subscribers together
  } counters;
  // What the live commands did, for /metrics (from this start on).
  struct EventCounts {
    std::map<std::string, std::uint64_t> rejected;  // by the engine's reason
    std::uint64_t trades = 0;
    std::uint64_t traded_units = 0;
    std::map<std::string, std::uint64_t> challenges;  // by `class="..",outcome=".."`
    // Each obligation not settled, recovered or created since: its hour.
    std::unordered_map<matching::TradeId, matching::InstrumentId> instrument_of;
  } events_seen;
  void count(std::span<const matching::Event> events);
  struct Subscriber;
  std::list<std::shared_ptr<Subscriber>> subscribers;

  Impl(ServerOptions o, MetricsWriter m)
      : options(std::move(o)),
        metrics(std::move(m)),
        connections({.max_connections = options.max_connections,
                     .max_per_address = options.max_connections_per_address,
                     .max_connections_setting = "market_data_max_connections",
                     .max_per_address_setting = "market_data_max_connections_per_address"}),
        feed(options.feed),
        rate(options.requests_per_second) {}

  // A connection admitted against the caps, released when the last owner
  // (the HTTP session, then the subscriber it became) is gone.
  struct Admitted {
    admission::ConnectionCount& count;
    std::string address;
    ~Admitted() { count.release(address); }
  };

  void accept(tcp::acceptor& listener, bool metrics_only);
  void serve(tcp::socket socket, bool metrics_only);
  void drain();
  void flush();
  // Updates go out at most every options.update_ms: under load one message then
  // carries many commands' changes, so that a thousand subscribers cost a
  // thousand writes an interval, not a thousand a group commit.
  FeedUpdate unsent;
  std::int64_t unsent_published_us = 0;
  asio::steady_timer flush_timer{io};
  bool flush_scheduled = false;
  std::chrono::steady_clock::time_point last_flush{};
  // Before serving: the feed from the whole journal (the public service),
  // else from `recovered`; then what the publisher queued meanwhile.
  void catch_up(const std::filesystem::path& data_directory, const matching::EngineConfig& config,
                matching::EngineSnapshot recovered, matching::SequenceNumber recovered_sequence);
  std::string metrics_page();
  http::response<http::string_body> respond(const http::request<http::string_body>& request,
                                            bool metrics_only, const std::string& address);
};

// One WebSocket subscriber: what it has not been sent yet, bounded.
struct Server::Impl::Subscriber : std::enable_shared_from_this<Subscriber> {
  Impl& impl;
  std::shared_ptr<Admitted> admitted;
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer incoming;
  std::deque<std::shared_ptr<const std::string>> outgoing;
  std::size_t queued_bytes = 0;
  bool open = true;
  http::request<http::string_body> upgrade;  // held until the handshake is done

  Subscriber(Impl& i, std::shared_ptr<Admitted> a, beast::tcp_stream stream)
      : impl(i), admitted(std::move(a)), ws(std::move(stream)) {}

  void start(http::request<http::string_body> request) {
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.read_message_max(kClientMessageBytes);
    upgrade = std::move(request);
    ws.async_accept(upgrade, [self = shared_from_this()](beast::error_code error) {
      self->upgrade = {};
      if (error) return;
      self->impl.subscribers.push_back(self);
      self->read();
    });
  }
  void read() {
    ws.async_read(incoming, [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (error) return self->close();
      self->incoming.clear();
      // Nothing a subscriber sends means anything; a flood of it is refused.
      if (!self->impl.rate.allow(self->admitted->address)) {
        ++self->impl.counters.rate_limited;
        return self->close();
      }
      self->read();
    });
  }
  void send(const std::shared_ptr<const std::string>& message) {
    if (!open) return;
    // Behind by more than its budget; one message alone, however large, is
    // never too much (else one big update would drop every subscriber).
    if (!outgoing.empty() && queued_bytes + message->size() > impl.options.max_queued_bytes) {
      ++impl.counters.slow_disconnects;
      return close();
    }
    queued_bytes += message->size();
    outgoing.push_back(message);
    if (outgoing.size() == 1) write();
  }
  void write() {
    ws.text(true);
    ws.async_write(asio::buffer(*outgoing.front()),
                   [self = shared_from_this()](beast::error_code error, std::size_t) {
                     if (error) return self->close();
                     self->queued_bytes -= self->outgoing.front()->size();
                     self->outgoing.pop_front();
                     if (!self->outgoing.empty() && self->open) self->write();
                   });
  }
  void close() {
    if (!open) return;
    open = false;
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    impl.subscribers.remove(shared_from_this());
  }
};

namespace {

// One HTTP connection: requests in turn, until it closes, idles or upgrades.
struct HttpSession : std::enable_shared_from_this<HttpSession> {
  using Respond =
      std::function<http::response<http::string_body>(const http::request<http::string_body>&)>;
  using Upgrade = std::function<void(beast::tcp_stream, http::request<http::string_body>)>;

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::optional<http::request_parser<http::string_body>> parser;
  http::response<http::string_body> response;
  Respond respond;
  Upgrade upgrade;  // empty where WebSockets are not served
  std::shared_ptr<void> admitted;

  HttpSession(tcp::socket socket, Respond r, Upgrade u, std::shared_ptr<void> a)
      : stream(std::move(socket)),
        respond(std::move(r)),
        upgrade(std::move(u)),
        admitted(std::move(a)) {}

  void read() {
    parser.emplace();
    parser->header_limit(kRequestBytes);
    parser->body_limit(kRequestBytes);
    stream.expires_after(kIdle);
    http::async_read(stream, buffer, *parser,
                     [self = shared_from_this()](beast::error_code error, std::size_t) {
                       self->on_read(error);
                     });
  }
  void on_read(beast::error_code error) {
    if (error == http::error::end_of_stream) return shut();
    if (error) {
      // A request too large or not HTTP: say so once, then close.
      if (error.category() == http::make_error_code(http::error::end_of_stream).category()) {
        response = {http::status::bad_request, 11};
        response.set(http::field::content_type, "application/json");
        response.body() = R"({"error":"not an HTTP/1.1 request of at most 8192 bytes"})";
        response.keep_alive(false);
        response.prepare_payload();
        return write();
      }
      return;
    }
    http::request<http::string_body> request = parser->release();
    if (upgrade && websocket::is_upgrade(request)) {
      upgrade(std::move(stream), std::move(request));
      return;
    }
    response = respond(request);
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    // HEAD: GET's headers, its length included, and no body.
    if (request.method() == http::verb::head) response.body().clear();
    write();
  }
  void write() {
    http::async_write(stream, response,
                      [self = shared_from_this()](beast::error_code error, std::size_t) {
                        if (error) return;
                        if (!self->response.keep_alive()) return self->shut();
                        self->read();
                      });
  }
  void shut() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
};

http::response<http::string_body> reply(http::status status, std::string_view type,
                                        std::string body) {
  http::response<http::string_body> response{status, 11};
  response.set(http::field::server, "gpux");
  response.set(http::field::content_type, std::string(type));
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.body() = std::move(body);
  return response;
}

}  // namespace

void Server::Impl::accept(tcp::acceptor& listener, bool metrics_only) {
  listener.async_accept(
      [this, &listener, metrics_only](beast::error_code error, tcp::socket socket) {
        if (error == asio::error::operation_aborted) return;
        if (!error) {
          serve(std::move(socket), metrics_only);
          accept(listener, metrics_only);
          return;
        }
        // Out of descriptors, or a connection reset while queued: try again
        // shortly rather than spin.
        auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
        timer->async_wait([this, &listener, metrics_only, timer](beast::error_code waited) {
          if (!waited) accept(listener, metrics_only);
        });
      });
}

void Server::Impl::serve(tcp::socket socket, bool metrics_only) {
  beast::error_code error;
  const auto peer = socket.remote_endpoint(error);
  if (error) return;
  std::string address = peer.address().to_string();
  admission::ConnectionCount& count = metrics_only ? metrics_connections : connections;
  if (count.admit(address) != admission::ConnectionCount::Verdict::admitted) return;
  auto admitted = std::make_shared<Admitted>(count, address);
  HttpSession::Upgrade upgrade;
  if (!metrics_only)
    upgrade = [this, admitted](beast::tcp_stream stream, http::request<http::string_body> request) {
      ++counters.requests;
      if (request.target() != "/api/v1/stream") return;  // closes
      if (!rate.allow(admitted->address)) {
        ++counters.rate_limited;
        return;
      }
      auto subscriber = std::make_shared<Subscriber>(*this, admitted, std::move(stream));
      subscriber->start(std::move(request));
    };
  const auto session = std::make_shared<HttpSession>(
      std::move(socket),
      [this, metrics_only, address](const http::request<http::string_body>& request) {
        return respond(request, metrics_only, address);
      },
      std::move(upgrade), admitted);
  session->read();
}

http::response<http::string_body> Server::Impl::respond(
    const http::request<http::string_body>& request, bool metrics_only,
    const std::string& address) {
  ++counters.requests;
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    auto r = reply(http::status::method_not_allowed, "application/json",
                   R"({"error":"only GET: this service is read-only"})");
    r.set(http::field::allow, "GET, HEAD");
    return r;
  }
  const std::string_view target(request.target().data(), request.target().size());
  if (metrics_only) {
    if (target != "/metrics")
      return reply(http::status::not_found, "application/json",
                   R"({"error":"this listener serves /metrics only"})");
    return reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", metrics_page());
  }
  if (!rate.allow(address)) {
    ++counters.rate_limited;
    auto r = reply(http::status::too_many_requests, "application/json",
                   "{\"error\":\"more than " + std::to_string(options.requests_per_second) +
                       " requests a second from " + address + "\"}");
    r.set(http::field::retry_after, "1");
    return r;
  }
  // The page reads its own query (?symbol=...).
  const std::string_view page = target.substr(0, target.find('?'));
  if (page == "/" || page == "/index.html") {
    auto r = reply(http::status::ok, "text/html; charset=utf-8", std::string(market_page()));
    // The page loads nothing from elsewhere, and may not.
    r.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
          "connect-src 'self'; img-src 'self' data:");
    return r;
  }
  if (target == "/chart.js")
    return reply(http::status::ok, "text/javascript; charset=utf-8", std::string(chart_library()));
  Answer a = answer(feed, target);
  return reply(static_cast<http::status>(a.status), "application/json", std::move(a.body));
}

std::string Server::Impl::metrics_page() {
  std::string out;
  const auto one = unlabelled;
  write_metric(out, "gpux_market_data_requests_total", "counter",
               "HTTP requests and WebSocket upgrades to the market-data service",
               one(counters.requests));
  write_metric(out, "gpux_market_data_rate_limited_total", "counter",
               "Requests and subscriber messages refused for their address's rate",
               one(counters.rate_limited));
  write_metric(out, "gpux_market_data_subscribers", "gauge", "WebSocket subscribers connected",
               one(subscribers.size()));
  write_metric(out, "gpux_market_data_slow_disconnects_total", "counter",
               "Subscribers disconnected for falling behind", one(counters.slow_disconnects));
  write_metric(out, "gpux_market_data_updates_sent_total", "counter",
               "Update messages queued to subscribers", one(counters.updates_sent));
  std::size_t queued = 0;
  {
    std::lock_guard lock(queue_mutex);
    queued = queue.size();
  }
  write_metric(out, "gpux_market_data_queued_commands", "gauge",
               "Durable commands handed over by the publisher, not yet applied", one(queued));
  write_metric(out, "gpux_market_data_sequence", "gauge",
               "The last command the market-data service has applied", one(feed.last_sequence()));
  const auto labelled = [](const std::map<std::string, std::uint64_t>& counts,
                           const std::string& label) {
    Samples samples;
    for (const auto& [key, n] : counts)
      samples.emplace_back(label.empty() ? key : label + "=\"" + key + "\"",
                           static_cast<std::int64_t>(n));
    return samples;
  };
  write_metric(out, "gpux_engine_rejects_total", "counter",
               "Commands the engine refused since this start, by reason",
               labelled(events_seen.rejected, "reason"));
  write_metric(out, "gpux_trades_total", "counter", "Trades since this start",
               one(events_seen.trades));
  write_metric(out, "gpux_traded_units_total", "counter", "Units traded since this start",
               one(events_seen.traded_units));
  write_metric(out, "gpux_challenges_total", "counter",
               "Delivery challenges recorded since this start, by GPU class and outcome",
               labelled(events_seen.challenges, ""));
  if (metrics) metrics(out);
  return out;
}

void Server::Impl::drain() {
  std::vector<Pending> batch;
  {
    std::lock_guard lock(queue_mutex);
    batch.swap(queue);
    drain_posted = false;
  }
  for (Pending& p : batch) {
    if (p.command.stamp.sequence <= feed.last_sequence()) continue;  // read from the journal
    FeedUpdate update = feed.apply(p.command, p.events);
    count(p.events);
    if (subscribers.empty() || update.empty()) continue;
    if (unsent_published_us == 0) unsent_published_us = p.published_us;
    merge(unsent, std::move(update));
  }
  if (unsent.empty() || flush_scheduled) return;
  const auto due = last_flush + std::chrono::milliseconds(options.update_ms);
  if (std::chrono::steady_clock::now() >= due) return flush();
  flush_scheduled = true;
  flush_timer.expires_at(due);
  flush_timer.async_wait([this](beast::error_code error) {
    flush_scheduled = false;
    if (!error) flush();
  });
}

void Server::Impl::flush() {
  last_flush = std::chrono::steady_clock::now();
  if (unsent.empty() || subscribers.empty()) {
    unsent = {};
    unsent_published_us = 0;
    return;
  }
  // Books as they stand now: fresher than when their change was queued.
  const auto message =
      std::make_shared<const std::string>(update_message(feed, unsent, unsent_published_us));
  unsent = {};
  unsent_published_us = 0;
  // send() may close, and so remove, a subscriber: walk a copy.
  const std::vector<std::shared_ptr<Subscriber>> all(subscribers.begin(), subscribers.end());
  for (const auto& s : all)
    s->send(message);
  counters.updates_sent += all.size();
}

void Server::Impl::count(std::span<const matching::Event> events) {
  using namespace matching;
  EventCounts& c = events_seen;
  for (const Event& event : events) {
    if (const auto* r = std::get_if<CommandRejected>(&event)) {
      ++c.rejected[to_string(r->reason)];
    } else if (const auto* t = std::get_if<Trade>(&event)) {
      ++c.trades;
      c.traded_units += static_cast<std::uint64_t>(t->quantity);
    } else if (const auto* o = std::get_if<ObligationCreated>(&event)) {
      c.instrument_of[o->trade] = o->instrument;
    } else if (const auto* ch = std::get_if<ChallengeRecorded>(&event)) {
      std::string gpu_class;
      if (const auto hour = c.instrument_of.find(ch->trade); hour != c.instrument_of.end())
        if (const auto found = feed.instruments().find(hour->second);
            found != feed.instruments().end())
          gpu_class = found->second.spec.gpu_class;
      // Class names are the calendar's: letters, digits, '-' and '.', no quotes.
      ++c.challenges["class=\"" + gpu_class + "\",outcome=\"" + to_string(ch->outcome) + "\""];
    } else if (const auto* settled = std::get_if<ObligationSettled>(&event)) {
      c.instrument_of.erase(settled->trade);
    }
  }
}

void Server::Impl::catch_up(const std::filesystem::path& data_directory,
                            const matching::EngineConfig& config,
                            matching::EngineSnapshot recovered,
                            matching::SequenceNumber recovered_sequence) {
  for (const matching::InstrumentSnapshot& hour : recovered.instruments)
    if (hour.state != matching::InstrumentState::settled)
      for (const matching::ObligationView& obligation : hour.obligations)
        events_seen.instrument_of[obligation.trade] = hour.spec.id;
  // History is the public service's: /metrics alone needs none.
  if (options.port != 0) {
    std::string problem;
    try {
      const auto journal = storage::Journal::open_following(data_directory);
      MarketFeed replayed(options.feed);
      const JournalReplay replay =
          replay_journal(*journal, config, replayed, [this] { return !stopping.load(); });
      if (replay.problems.empty() && replayed.last_sequence() >= recovered_sequence)
        feed = std::move(replayed);
      else
        problem = replay.problems.empty() ? "it ends before the recovered state"
                                          : replay.problems.front();
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (problem.empty()) return drain();
    if (stopping) return;
    std::fprintf(stderr,
                 "gpuxd: market data starts without history (trades, candles, index) before "
                 "command %llu: the journal cannot be read from its start: %s\n",
                 static_cast<unsigned long long>(recovered_sequence), problem.c_str());
  }
  feed = MarketFeed(options.feed);
  feed.restore(recovered, recovered_sequence);
  drain();
}

Server::Server(ServerOptions options, MetricsWriter metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(metrics))) {
  Impl& i = *impl_;
  if (i.options.port != 0)
    i.public_listener.emplace(listen_on(i.io, i.options.address, i.options.port, "market data"));
  if (i.options.metrics_port != 0)
    i.metrics_listener.emplace(
        listen_on(i.io, i.options.metrics_address, i.options.metrics_port, "metrics"));
}

Server::~Server() {
  stop();
}

int Server::port() const {
  return impl_->public_listener ? impl_->public_listener->local_endpoint().port() : 0;
}

int Server::metrics_port() const {
  return impl_->metrics_listener ? impl_->metrics_listener->local_endpoint().port() : 0;
}

void Server::observe(const matching::Command& command, std::span<const matching::Event> events) {
  Impl& i = *impl_;
  // On the publisher's thread, before the command's client is answered:
  // only what the feed and the counters read is copied.
  std::vector<matching::Event> followed;
  followed.reserve(events.size());
  std::copy_if(events.begin(), events.end(), std::back_inserter(followed), read_by_service);
  const std::int64_t published_us = now_us();
  bool post = false;
  {
    std::lock_guard lock(i.queue_mutex);
    i.queue.push_back(
        {.command = command, .events = std::move(followed), .published_us = published_us});
    post = !i.drain_posted;
    i.drain_posted = true;
  }
  // Handlers run only once catch_up() is done (start()).
  if (post) asio::post(i.io, [&i] { i.drain(); });
}

void Server::start(const std::filesystem::path& data_directory,
                   const matching::EngineConfig& config, const matching::EngineSnapshot& recovered,
                   matching::SequenceNumber recovered_sequence) {
  Impl& i = *impl_;
  assert(!i.thread.joinable());
  if (i.public_listener) i.accept(*i.public_listener, false);
  if (i.metrics_listener) i.accept(*i.metrics_listener, true);
  i.thread = std::thread([&i, data_directory, config, recovered, recovered_sequence]() mutable {
    pthread_setname_np(pthread_self(), "gpux-market");
    // Linux gives each thread its own nice value. Raising one's own needs no
    // privilege; should it fail, the service runs at the pipeline's priority.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), i.options.nice) != 0)
      std::perror("gpuxd: market data: setpriority");
    // Moved in: the snapshot is let go of once the feed has it.
    i.catch_up(data_directory, config, std::move(recovered), recovered_sequence);
    i.io.run();
  });
}

void Server::stop() {
  Impl& i = *impl_;
  if (!i.thread.joinable()) return;
  i.stopping = true;  // a replay of the journal still running ends early
  i.io.stop();
  i.thread.join();
}

}  // namespace gpux::market_data
