// The public market-data service of a real gpuxd, over loopback: its JSON
// API shows the depth and trades that FIX market data (gpux trade) shows for
// orders placed over FIX; a WebSocket subscriber gets the update of a new
// trade, as a FIX watcher does; bad requests are refused with a JSON error;
// requests are rate-limited per source address; /metrics passes promtool;
// and the tape is the journal's after a restart.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_log.h"
#include "local_daemon.h"
#include "run_command.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
namespace pt = boost::property_tree;
namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kSymbol = "H100-SXM.us-east.21000101T00";
constexpr int kRequestsPerSecond = 5;
constexpr auto kWait = std::chrono::seconds(20);  // for anything the daemon does

void pause_ms(int ms) {
  ::poll(nullptr, 0, ms);
}

// gpuxd with its FIX acceptor, public market data and /metrics on free
// ports, three FIX seats (BUYER and SELLER trade, WATCHER only looks), and
// one instrument open until 2100.
class Exchange {
 public:
  Exchange() {
    std::set<int> taken;
    for (int* port : {&fix_port, &market_port, &metrics_port}) {
      do
        *port = gpux::local::free_port();
      while (!taken.insert(*port).second);
    }
    std::ofstream(config()) << "data_dir = " << (dir.path() / "data").string() << "\n"
                            << "fix_port = " << fix_port << "\n"
                            << "fix_client = BUYER participant=1 password=none\n"
                            << "fix_client = SELLER participant=2 password=none\n"
                            << "fix_client = WATCHER participant=3 password=none\n"
                            << "participant = 1 cash=1000000000000\n"
                            << "participant = 2 cash=1000000000000\n"
                            << "participant = 3 cash=1000000000000\n"
                            << "instrument = 1 symbol=" << kSymbol
                            << " class=H100-SXM region=us-east start=4102444800 tick=100 max=1000"
                               " reference=2000000 band=500000\n"
                            << "capacity = 2 instrument=1 units=100\n"
                            << "market_data_port = " << market_port << "\n"
                            << "market_data_requests_per_second = " << kRequestsPerSecond << "\n"
                            << "metrics_port = " << metrics_port << "\n"
                            << "index_interval_s = 60\n";
  }
  ~Exchange() { stop(SIGKILL); }

  fs::path config() const { return dir.path() / "gpuxd.conf"; }
  fs::path log_path() const { return dir.path() / "gpuxd.log"; }
  std::string log() const {
    std::ifstream in(log_path());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Started, and serving everything: the FIX acceptor starts last.
  void start() {
    log_start_ = gpux::test::log_size(log_path().string());
    pid_ = gpux::local::spawn_daemon(GPUXD_PATH, config().string(), log_path().string());
    REQUIRE(pid_ > 0);
    REQUIRE_MESSAGE(gpux::local::wait_for_listener(fix_port), log());
    REQUIRE_MESSAGE(gpux::local::accepts_connections(market_port), log());
    REQUIRE_MESSAGE(gpux::local::accepts_connections(metrics_port), log());
  }
  // Its exit status as waitpid reports it.
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0) return 0;
    const int status = gpux::local::stop_daemon(pid_, signal);
    pid_ = -1;
    gpux::test::check_no_sanitizer_report(log_path().string(), log_start_);
    return status;
  }

  // The gpux trade command line for `sender`, up to its arguments.
  std::string trade_command(const std::string& sender) const {
    return std::string(GPUX_PATH) + " trade --state-dir " + (dir.path() / "trade-state").string() +
           " --port " + std::to_string(fix_port) + " --sender " + sender + " --dictionary " +
           GPUX_FIX_DICTIONARY + " --timeout 20 --json ";
  }
  gpux::test::CommandResult trade(const std::string& sender, const std::string& args) const {
    return gpux::test::run_command(trade_command(sender) + args);
  }

  gpux::test::TempDir dir;
  int fix_port = 0, market_port = 0, metrics_port = 0;

 private:
  pid_t pid_ = -1;
  long log_start_ = 0;
};

// --- HTTP, over a plain socket -------------------------------------------

struct HttpAnswer {
  int status = 0;                             // 0: no answer
  std::map<std::string, std::string> fields;  // names in lower case
  std::string body;
  std::string field(const std::string& name) const {  // name in lower case; "" when absent
    const auto found = fields.find(name);
    return found == fields.end() ? std::string() : found->second;
  }
};

// One request on a connection of its own from `source` (any 127/8 address),
// which the service closes after its answer.
HttpAnswer http(int port, const std::string& target, const char* source,
                const std::string& method = "GET") {
  HttpAnswer answer;
  const int fd = gpux::local::connect_to(port, source);
  REQUIRE_MESSAGE(fd >= 0, "cannot connect from " << source << " to port " << port);
  const std::string request = method + " " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              "Content-Length: 0\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string raw;
  const auto deadline = Clock::now() + kWait;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) break;
    char chunk[8192];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    raw.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head_end = raw.find("\r\n\r\n");
  REQUIRE_MESSAGE(head_end != std::string::npos,
                  method << " " << target << ": no whole answer, only: " << raw);
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  REQUIRE_MESSAGE(line.rfind("HTTP/1.1 ", 0) == 0, line);
  answer.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    answer.fields[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  answer.body = raw.substr(head_end + 4);
  if (answer.fields.count("content-length"))
    CHECK(answer.body.size() == std::stoul(answer.fields["content-length"]));
  return answer;
}

// `text` parsed, or nothing when it is not JSON.
std::optional<pt::ptree> try_json(const std::string& text) {
  pt::ptree tree;
  std::istringstream in(text);
  try {
    pt::read_json(in, tree);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return tree;
}

pt::ptree json(const std::string& text) {
  pt::ptree tree;
  std::istringstream in(text);
  try {
    pt::read_json(in, tree);
  } catch (const std::exception& e) {
    FAIL("not JSON (" << e.what() << "): " << text);
  }
  return tree;
}

// A public GET from `source` that the rate limit let through: an answer
// refused with 429 is asked again once the next second may have begun.
HttpAnswer api(const Exchange& exchange, const std::string& target, const char* source) {
  const auto deadline = Clock::now() + kWait;
  for (;;) {
    HttpAnswer answer = http(exchange.market_port, target, source);
    if (answer.status != 429 || Clock::now() > deadline) return answer;
    pause_ms(250);
  }
}

// --- /metrics -----------------------------------------------------------

std::string scrape(const Exchange& exchange) {
  const HttpAnswer answer = http(exchange.metrics_port, "/metrics", "127.0.0.1");
  REQUIRE(answer.status == 200);
  CHECK(answer.field("content-type").rfind("text/plain; version=0.0.4", 0) == 0);
  return answer.body;
}

// A sample's value (`name` with its labels, if any, as written), or nothing.
std::optional<double> metric(const std::string& page, const std::string& name) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space != std::string::npos && line.substr(0, space) == name)
      return std::stod(line.substr(space + 1));
  }
  return std::nullopt;
}

// Until the service has applied every command the pipeline has published:
// what FIX has acknowledged, the API shows.
void wait_caught_up(const Exchange& exchange) {
  const auto deadline = Clock::now() + kWait;
  std::string page;
  for (;;) {
    page = scrape(exchange);
    const auto commands = metric(page, "gpux_commands_total");
    const auto applied = metric(page, "gpux_market_data_sequence");
    if (commands && applied && *commands > 0 && *applied >= *commands) return;
    if (Clock::now() > deadline) break;
    pause_ms(20);
  }
  FAIL("the market-data service did not catch up with the pipeline; /metrics:\n" << page);
}

// --- Books and trades, as FIX and the API show them -----------------------

using Levels = std::vector<std::string>;  // "bid 1.900000 x 3", best first a side

Levels fix_book(const Exchange& exchange) {
  const auto book = exchange.trade("WATCHER", std::string("book ") + kSymbol);
  REQUIRE_MESSAGE(book.status == 0, book.output);
  Levels levels;
  std::istringstream in(book.output);
  std::string line;
  while (std::getline(in, line)) {
    const auto parsed = try_json(line);  // gpux trade's own warnings are not
    if (!parsed) continue;
    const pt::ptree& entry = *parsed;
    const std::string type = entry.get<std::string>("type", "");
    if (type != "bid" && type != "offer") continue;
    CHECK(entry.get<std::string>("symbol") == kSymbol);
    levels.push_back(type + " " + entry.get<std::string>("price") + " x " +
                     entry.get<std::string>("quantity"));
  }
  return levels;
}

Levels api_levels(const pt::ptree& book) {
  Levels levels;
  for (const auto& [side, name] : {std::pair{"bids", "bid"}, std::pair{"offers", "offer"}})
    for (const auto& [ignored, level] : book.get_child(side))
      levels.push_back(std::string(name) + " " + level.get<std::string>("price") + " x " +
                       level.get<std::string>("quantity"));
  return levels;
}

Levels api_book(const Exchange& exchange, const char* source, const std::string& query = "") {
  const HttpAnswer answer =
      api(exchange, std::string("/api/v1/book?symbol=") + kSymbol + query, source);
  REQUIRE_MESSAGE(answer.status == 200, answer.body);
  CHECK(answer.field("content-type") == "application/json");
  const pt::ptree book = json(answer.body);
  CHECK(book.get<std::string>("symbol") == kSymbol);
  CHECK(book.get<std::string>("state") == "open");
  return api_levels(book);
}

// "price x quantity" of a trade: the API's, FIX's last_px and last_qty.
std::string fill_of(const pt::ptree& trade) {
  return trade.get<std::string>("price") + " x " + trade.get<std::string>("quantity");
}

// `gpux trade place ...`: the fill it printed ("last_px x last_qty"), or "".
std::string place(const Exchange& exchange, const std::string& sender, const std::string& order) {
  const auto placed = exchange.trade(sender, "place " + order);
  REQUIRE_MESSAGE(placed.status == 0, placed.output);
  std::istringstream in(placed.output);
  std::string line, fill;
  while (std::getline(in, line)) {
    const auto report = try_json(line);
    if (report && report->get<std::string>("type", "") == "trade")
      fill = report->get<std::string>("last_px") + " x " + report->get<std::string>("last_qty");
  }
  return fill;
}

// `gpux trade watch` as WATCHER: logged on, printing FIX market data (the
// book, then every change) until stopped with Ctrl-C.
class FixWatch {
 public:
  explicit FixWatch(const Exchange& exchange) {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    // exec: the shell becomes gpux, which the signal then reaches.
    const std::string command = "exec " + exchange.trade_command("WATCHER") + "watch " + kSymbol;
    const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
    const int error =
        posix_spawn(&pid_, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    from_ = out[0];
    REQUIRE(error == 0);
  }
  ~FixWatch() { stop(); }

  // Reads its JSON lines until one that `wanted` accepts; false if none
  // within kWait.
  template <typename Wanted>
  bool wait_for(Wanted wanted) {
    const auto deadline = Clock::now() + kWait;
    for (;;) {
      for (auto end = buffer_.find('\n'); end != std::string::npos; end = buffer_.find('\n')) {
        const std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        output_ += line + "\n";
        const auto parsed = try_json(line);
        if (parsed && wanted(*parsed)) return true;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{from_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) return false;
      char chunk[4096];
      const ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  const std::string& output() const { return output_; }

  // Ctrl-C: it logs out and exits 0.
  int stop() {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGINT);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ::close(from_);
    return status;
  }

 private:
  pid_t pid_ = -1;
  int from_ = -1;
  std::string buffer_;
  std::string output_;
};

// --- WebSocket ------------------------------------------------------------

// A subscriber at /api/v1/stream, connected from `source`.
class Subscriber {
 public:
  Subscriber(int port, const char* source) : ws_(io_) {
    auto& socket = ws_.next_layer();
    socket.open(asio::ip::tcp::v4());
    socket.bind({asio::ip::make_address(source), 0});
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    ws_.handshake("127.0.0.1:" + std::to_string(port), "/api/v1/stream");
  }
  ~Subscriber() {
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
  }

  // The next message, or nothing within kWait.
  std::optional<std::string> next() {
    beast::flat_buffer buffer;
    bool done = false;
    beast::error_code error;
    ws_.async_read(buffer, [&](beast::error_code e, std::size_t) {
      error = e;
      done = true;
    });
    io_.restart();
    io_.run_for(kWait);
    if (!done || error) return std::nullopt;
    CHECK(ws_.got_text());
    return beast::buffers_to_string(buffer.data());
  }

 private:
  asio::io_context io_;
  beast::websocket::stream<asio::ip::tcp::socket> ws_;
};

}  // namespace

TEST_CASE("market data: the API and the stream show what FIX shows, /metrics, after a restart") {
  Exchange exchange;
  exchange.start();

  // Two price levels a side, one of them of two orders, then a buy that
  // crosses the best offer.
  CHECK(place(exchange, "BUYER", std::string("buy ") + kSymbol + " 2 1.9").empty());
  CHECK(place(exchange, "BUYER", std::string("buy ") + kSymbol + " 1 1.9").empty());
  CHECK(place(exchange, "BUYER", std::string("buy ") + kSymbol + " 3 1.8").empty());
  CHECK(place(exchange, "SELLER", std::string("sell ") + kSymbol + " 4 2.1").empty());
  CHECK(place(exchange, "SELLER", std::string("sell ") + kSymbol + " 5 2.2").empty());
  const std::string first_fill = place(exchange, "BUYER", std::string("buy ") + kSymbol + " 1 2.1");
  CHECK(first_fill == "2.100000 x 1");

  const Levels fix_levels = fix_book(exchange);
  const Levels expected = {"bid 1.900000 x 3", "bid 1.800000 x 3", "offer 2.100000 x 3",
                           "offer 2.200000 x 5"};
  CHECK(fix_levels == expected);

  wait_caught_up(exchange);
  {
    INFO("GET /api/v1/book: the FIX book's levels");
    CHECK(api_book(exchange, "127.0.0.3") == fix_levels);
    CHECK(api_book(exchange, "127.0.0.3", "&depth=1") ==
          Levels{"bid 1.900000 x 3", "offer 2.100000 x 3"});
  }
  {
    INFO("GET /api/v1/trades: the FIX fill's price and quantity");
    const HttpAnswer answer =
        api(exchange, std::string("/api/v1/trades?symbol=") + kSymbol, "127.0.0.3");
    REQUIRE_MESSAGE(answer.status == 200, answer.body);
    const pt::ptree trades = json(answer.body).get_child("trades");
    REQUIRE(trades.size() == 1);
    const pt::ptree& trade = trades.front().second;
    CHECK(fill_of(trade) == first_fill);
    CHECK(trade.get<std::string>("symbol") == kSymbol);
    CHECK(trade.get<std::string>("aggressor") == "buy");
    CHECK(trade.get<std::string>("block_leg") == "false");
  }

  {
    INFO("/metrics: promtool's format and lint checks, and the counts");
    const std::string page = scrape(exchange);
    CAPTURE(page);
    const fs::path file = exchange.dir.path() / "metrics.txt";
    std::ofstream(file) << page;
    const auto checked = gpux::test::run_command("promtool check metrics < " + file.string());
    INFO("promtool (Debian package prometheus; ops/setup installs it): " << checked.output);
    CHECK(checked.status == 0);
    CHECK(checked.output.empty());
    CHECK(metric(page, "gpux_commands_total").value_or(0) > 0);
    CHECK(metric(page, "gpux_trades_total").value_or(0) >= 1);
    CHECK(metric(page, "gpux_fix_sessions").has_value());
    CHECK(page.find("# TYPE gpux_fix_sessions gauge\n") != std::string::npos);
  }

  // A FIX watcher and a WebSocket subscriber, then a sell that crosses the
  // best bid: both are told of the trade.
  FixWatch watch(exchange);
  REQUIRE_MESSAGE(watch.wait_for([](const pt::ptree& m) {
    return m.get<std::string>("type", "") == "offer" && m.get<std::string>("price") == "2.200000";
  }),
                  watch.output());
  CHECK(metric(scrape(exchange), "gpux_fix_sessions").value_or(0) >= 1);  // WATCHER's
  Subscriber subscriber(exchange.market_port, "127.0.0.4");
  {
    // Subscribed once the service has counted it: the trade cannot come first.
    const auto deadline = Clock::now() + kWait;
    while (metric(scrape(exchange), "gpux_market_data_subscribers").value_or(0) < 1) {
      REQUIRE_MESSAGE(Clock::now() < deadline, "the subscriber was never counted");
      pause_ms(20);
    }
  }
  const std::string second_fill =
      place(exchange, "SELLER", std::string("sell ") + kSymbol + " 2 1.9");
  CHECK(second_fill == "1.900000 x 2");

  {
    INFO("the WebSocket update with the trade");
    std::string seen;  // every message so far, for a failure
    std::optional<pt::ptree> trade;
    std::optional<pt::ptree> book;
    while (!trade) {
      const auto message = subscriber.next();
      CAPTURE(seen);
      REQUIRE_MESSAGE(message, "no update with the trade within 20 s");
      seen += *message + "\n";
      const pt::ptree update = json(*message);
      REQUIRE(update.get<std::string>("type") == "update");
      CHECK(std::stoll(update.get<std::string>("sequence")) > 0);
      for (const auto& [ignored, t] : update.get_child("trades"))
        if (fill_of(t) == second_fill) trade = t;
      for (const auto& [ignored, b] : update.get_child("books"))
        if (b.get<std::string>("symbol") == kSymbol) book = b;
    }
    CHECK(trade->get<std::string>("symbol") == kSymbol);
    CHECK(trade->get<std::string>("aggressor") == "sell");
    REQUIRE(book);
    CHECK(api_levels(*book) == Levels{"bid 1.900000 x 1", "bid 1.800000 x 3", "offer 2.100000 x 3",
                                      "offer 2.200000 x 5"});
  }
  {
    INFO("the FIX watcher's trade: the same");
    CHECK(watch.wait_for([&](const pt::ptree& m) {
      return m.get<std::string>("type", "") == "trade" &&
             m.get<std::string>("price") + " x " + m.get<std::string>("quantity") == second_fill;
    }));
    CAPTURE(watch.output());
    CHECK(watch.stop() == 0);
  }

  wait_caught_up(exchange);
  const Levels book_before = api_book(exchange, "127.0.0.5");
  CHECK(book_before == fix_book(exchange));
  const HttpAnswer trades_before =
      api(exchange, std::string("/api/v1/trades?symbol=") + kSymbol, "127.0.0.5");
  REQUIRE(trades_before.status == 200);
  CHECK(json(trades_before.body).get_child("trades").size() == 2);

  {
    INFO("stopped with SIGTERM and started again on the same data: the journal's tape");
    // With the subscriber still connected: gpuxd stops cleanly all the same.
    const int stopped = exchange.stop(SIGTERM);
    CHECK_MESSAGE(stopped == 0, exchange.log());
    exchange.start();
    // Answered only once the service has read the journal.
    const HttpAnswer trades_after =
        api(exchange, std::string("/api/v1/trades?symbol=") + kSymbol, "127.0.0.6");
    REQUIRE(trades_after.status == 200);
    CHECK(trades_after.body == trades_before.body);
    const pt::ptree trades = json(trades_after.body).get_child("trades");
    REQUIRE(trades.size() == 2);
    CHECK(fill_of(trades.front().second) == second_fill);  // newest first
    CHECK(fill_of(trades.back().second) == first_fill);
    CHECK(api_book(exchange, "127.0.0.6") == book_before);
  }
  const int stopped = exchange.stop(SIGTERM);
  CHECK_MESSAGE(stopped == 0, exchange.log());
}

TEST_CASE("market data: bad requests get a JSON error; the rate limit is per source address") {
  Exchange exchange;
  exchange.start();
  const std::string book = std::string("/api/v1/book?symbol=") + kSymbol;
  // Each from an address of its own, below the rate limit.
  const auto error_of = [](const HttpAnswer& a) {
    CHECK(a.field("content-type") == "application/json");
    return json(a.body).get<std::string>("error");
  };
  {
    const HttpAnswer a = http(exchange.market_port, "/api/v1/nothing-here", "127.0.0.11");
    CHECK(a.status == 404);
    CHECK(error_of(a) == "no such path: /api/v1/nothing-here");
  }
  {
    const HttpAnswer a = http(exchange.market_port, book + "&colour=red", "127.0.0.12");
    CHECK(a.status == 400);
    CHECK(error_of(a) == "unknown parameter colour");
  }
  {
    const HttpAnswer a = http(exchange.market_port, book + "&depth=abc", "127.0.0.13");
    CHECK(a.status == 400);
    CHECK(error_of(a).find("depth must be a whole number") == 0);
  }
  {
    const HttpAnswer a = http(exchange.market_port, book, "127.0.0.14", "POST");
    CHECK(a.status == 405);
    CHECK(a.field("allow").find("GET") != std::string::npos);
    CHECK(!error_of(a).empty());
  }
  {
    const HttpAnswer a =
        http(exchange.market_port, "/api/v1/book?symbol=A100.nowhere.21000101T00", "127.0.0.15");
    CHECK(a.status == 404);
    CHECK(error_of(a) == "no instrument A100.nowhere.21000101T00");
  }
  CHECK(http(exchange.market_port, book, "127.0.0.16").status == 200);

  // A flood from 127.0.0.1 is refused, 429 with Retry-After; a request from
  // 127.0.0.2 between two refusals (so within the same second) is answered.
  int refused = 0;
  bool shown = false;
  for (int attempt = 0; attempt < 5 && !shown; ++attempt) {
    const auto started = Clock::now();
    int answered = 0;
    HttpAnswer last;
    for (int i = 0; i < 30; ++i) {
      last = http(exchange.market_port, "/api/v1/instruments", "127.0.0.1");
      if (last.status == 200) ++answered;
      if (last.status != 429) continue;
      ++refused;
      CHECK(last.field("retry-after") == "1");
      CHECK(error_of(last) == "more than 5 requests a second from 127.0.0.1");
    }
    const auto elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    CAPTURE(elapsed_ms);
    if (attempt == 0) CHECK(answered >= 1);  // a later one may begin in a spent second
    // At most the limit in each second the flood touched.
    CHECK(answered <= kRequestsPerSecond * (elapsed_ms / 1000 + 2));
    if (last.status != 429) continue;  // a new second began at the end: once more
    const HttpAnswer other = http(exchange.market_port, "/api/v1/instruments", "127.0.0.2");
    CHECK(other.status == 200);
    CHECK(json(other.body).get_child("instruments").size() == 1);
    const HttpAnswer again = http(exchange.market_port, "/api/v1/instruments", "127.0.0.1");
    if (again.status == 429) ++refused;
    shown = again.status == 429;  // else a new second began: once more
  }
  CHECK(refused > 0);
  CHECK(shown);
  CHECK(metric(scrape(exchange), "gpux_market_data_rate_limited_total") == refused);
  const int stopped = exchange.stop(SIGTERM);
  CHECK_MESSAGE(stopped == 0, exchange.log());
}
