// The market page of a real gpuxd in headless Chromium, driven over the
// Chrome DevTools Protocol (a Boost.Beast WebSocket client): the page loads
// from gpuxd with nothing fetched beyond it on loopback, shows the book that
// orders placed through FIX (gpux trade) made, and a trade placed through FIX
// afterwards reaches the page's last trade, tape and price chart live; a
// screenshot shows it drawn. Chromium is killed at the end, every process of it.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "child_log.h"
#include "json_text.h"
#include "local_daemon.h"
#include "png_image.h"
#include "run_command.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr const char* kSymbol = "H100-SXM.us-east.21000101T00";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---- Just enough JSON to read what Chromium answers ------------------------

void append_utf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xc0 | code >> 6);
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xe0 | code >> 12);
    out += static_cast<char>(0x80 | (code >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | code >> 18);
    out += static_cast<char>(0x80 | (code >> 12 & 0x3f));
    out += static_cast<char>(0x80 | (code >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  }
}

// The JSON string literal that starts at text[at] (its opening quote), decoded.
std::string decode_string(const std::string& text, std::size_t at) {
  REQUIRE_MESSAGE(at < text.size(), text.substr(0, 500));
  REQUIRE_MESSAGE(text[at] == '"', text.substr(at, 200));
  std::string out;
  for (std::size_t i = at + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') return out;
    if (c != '\\') {
      out += c;
      continue;
    }
    REQUIRE(++i < text.size());
    switch (text[i]) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        REQUIRE(i + 4 < text.size());
        unsigned code = std::stoul(text.substr(i + 1, 4), nullptr, 16);
        i += 4;
        if (code >= 0xd800 && code < 0xdc00 && text.compare(i + 1, 2, "\\u") == 0) {
          const unsigned low = std::stoul(text.substr(i + 3, 4), nullptr, 16);
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          i += 6;
        }
        append_utf8(out, code);
        break;
      }
      default:  // '"', '\\', '/'
        out += text[i];
    }
  }
  FAIL("an unterminated JSON string: " << text.substr(at, 200));
  return out;
}

// The string value of the first "key" in `text` at or after `from`; "" when
// there is none.
std::string string_field(const std::string& text, const std::string& key, std::size_t from = 0) {
  const std::string quoted = "\"" + key + "\"";
  const auto at = text.find(quoted, from);
  if (at == std::string::npos) return {};
  auto value = text.find_first_not_of(" \t\r\n:", at + quoted.size());
  if (value == std::string::npos || text[value] != '"') return {};
  return decode_string(text, value);
}

std::string base64_decode(const std::string& text) {
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '+') v = 62;
    if (c == '/') v = 63;
    if (v < 0) continue;  // '=' padding
    bits = bits << 6 | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>(bits >> count & 0xff);
    }
  }
  return out;
}

// ---- gpuxd, with FIX and the market-data service on loopback ----------------

struct Exchange {
  Exchange() : fix_port(gpux::local::free_port()), market_port(gpux::local::free_port()) {
    while (market_port == fix_port)
      market_port = gpux::local::free_port();
    std::ofstream(config()) << "data_dir = " << (dir.path() / "data").string() << "\n"
                            << "fix_port = " << fix_port << "\n"
                            << "market_data_port = " << market_port << "\n"
                            << "fix_client = BUYER participant=1 password=none\n"
                            << "fix_client = SELLER participant=2 password=none\n"
                            << "participant = 1 cash=1000000000000\n"
                            << "participant = 2 cash=1000000000000\n"
                            // Delivery in 2100: open for the whole test.
                            << "instrument = 1 symbol=" << kSymbol
                            << " class=H100-SXM region=us-east start=4102444800 tick=100 max=1000"
                               " reference=2000000 band=500000\n"
                            << "capacity = 2 instrument=1 units=100\n";
    pid = gpux::local::spawn_daemon(GPUXD_PATH, config().string(), log_path().string());
    REQUIRE(pid > 0);
    REQUIRE_MESSAGE(gpux::local::wait_for_listener(fix_port), log());
    REQUIRE_MESSAGE(gpux::local::wait_for_listener(market_port), log());
  }
  ~Exchange() {
    if (pid > 0) gpux::local::stop_daemon(pid, SIGTERM);
    gpux::test::check_no_sanitizer_report(log_path().string());
  }

  fs::path config() const { return dir.path() / "gpuxd.conf"; }
  fs::path log_path() const { return dir.path() / "gpuxd.log"; }
  std::string log() const { return read_file(log_path()); }
  std::string page_origin() const { return "127.0.0.1:" + std::to_string(market_port); }

  // `gpux trade place ...` on SEAT's session; it must be accepted.
  void place(const std::string& seat, const std::string& order) const {
    const auto r = gpux::test::run_command(
        std::string(GPUX_PATH) + " trade --state-dir " + (dir.path() / "trade-state").string() +
        " --port " + std::to_string(fix_port) + " --sender " + seat + " --dictionary " +
        GPUX_FIX_DICTIONARY + " --timeout 20 place " + order);
    REQUIRE_MESSAGE(r.status == 0, "gpux trade place " << order << ":\n" << r.output);
  }

  gpux::test::TempDir dir;
  int fix_port, market_port;
  pid_t pid = -1;
};

// ---- headless Chromium, every process of it found and killed at the end ----

// Chromium in a process group of its own, and with a variable in its
// environment that every process it starts inherits: its crash handlers
// run outside the group, and are found by that.
class Chromium {
 public:
  explicit Chromium(const fs::path& dir)
      : profile_(dir / "chromium-profile"),
        log_(dir / "chromium.log"),
        marker_("GPUX_MARKET_PAGE_TEST_CHROMIUM=" + profile_.string()) {
    fs::create_directories(profile_);
    std::vector<std::string> args = {
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",  // Chromium's own, not the page's
        "--window-size=1280,1000",
        "--remote-debugging-port=0",
        "--user-data-dir=" + profile_.string(),
        "about:blank"};
    std::vector<char*> argv, envp;
    for (std::string& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    for (char** e = environ; *e != nullptr; ++e)
      envp.push_back(*e);
    envp.push_back(marker_.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    for (int fd : {STDOUT_FILENO, STDERR_FILENO})
      posix_spawn_file_actions_addopen(&actions, fd, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                       0644);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    const int error =
        posix_spawnp(&pid_, "chromium", &actions, &attributes, argv.data(), envp.data());
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(error == 0, "cannot run chromium: " << std::strerror(error));
  }
  ~Chromium() { kill(); }

  // Kills Chromium and every process it started; whether none is left
  // running 10 s later.
  bool kill() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (;;) {
      const std::vector<pid_t> left = processes();
      if (left.empty()) return true;
      if (Clock::now() > deadline) return false;
      for (const pid_t p : left)
        ::kill(p, SIGKILL);
      ::poll(nullptr, 0, 20);
    }
  }

  // The DevTools port Chromium chose, once it has written it (up to 30 s).
  int devtools_port() {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      std::ifstream in(profile_ / "DevToolsActivePort");
      int port = 0;
      if (in >> port && port > 0) return port;
      REQUIRE_MESSAGE(::waitpid(pid_, nullptr, WNOHANG) == 0, "chromium exited:\n"
                                                                  << read_file(log_));
      REQUIRE_MESSAGE(Clock::now() < deadline, "chromium wrote no DevToolsActivePort:\n"
                                                   << read_file(log_));
      ::poll(nullptr, 0, 20);
    }
  }

 private:
  // The processes alive with this Chromium's marker in their environment
  // (a zombie's environment reads empty).
  std::vector<pid_t> processes() const {
    std::vector<pid_t> found;
    const std::string wanted = std::string(1, '\0') + marker_ + '\0';
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/proc", error)) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const std::string environment = std::string(1, '\0') + read_file(entry.path() / "environ");
      if (environment.find(wanted) != std::string::npos) found.push_back(std::stoi(name));
    }
    return found;
  }

  fs::path profile_, log_;
  std::string marker_;
  pid_t pid_ = -1;
};

std::string http_get(int port, const std::string& target) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  REQUIRE_MESSAGE(response.result() == http::status::ok, target << ": " << response.body());
  return response.body();
}

// The page target's webSocketDebuggerUrl, from /json/list.
std::string page_target(int devtools_port) {
  const std::string list = http_get(devtools_port, "/json/list");
  for (std::size_t at = list.find('{'); at != std::string::npos; at = list.find('{', at + 1)) {
    const std::string target = list.substr(at, list.find('}', at) - at);
    if (string_field(target, "type") == "page") return string_field(target, "webSocketDebuggerUrl");
  }
  FAIL("no page target in /json/list:\n" << list);
  return {};
}

// One DevTools session on a page target: commands answered in turn, and
// the events that arrive meanwhile kept in order.
class DevTools {
 public:
  explicit DevTools(const std::string& url) : ws_(io_) {
    const std::string prefix = "ws://127.0.0.1:";
    REQUIRE_MESSAGE(url.rfind(prefix, 0) == 0, url);
    const auto slash = url.find('/', prefix.size());
    const std::string port = url.substr(prefix.size(), slash - prefix.size());
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(ws_).connect(tcp::endpoint(
        asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(port))));
    ws_.read_message_max(256 << 20);
    ws_.handshake("127.0.0.1:" + port, url.substr(slash));
    beast::get_lowest_layer(ws_).expires_never();
  }

  // Sends METHOD with PARAMS (a JSON object) and waits up to 15 s for its
  // answer, which it returns whole; an error answer fails the test.
  std::string call(const std::string& method, const std::string& params = "{}") {
    const int id = next_id_++;
    const std::string message = "{\"id\":" + std::to_string(id) + ",\"method\":\"" + method +
                                "\",\"params\":" + params + "}";
    ws_.text(true);
    ws_.write(asio::buffer(message));
    const std::string prefix = "{\"id\":" + std::to_string(id) + ",";
    const auto deadline = Clock::now() + std::chrono::seconds(15);
    for (;;) {
      const auto now = Clock::now();
      REQUIRE_MESSAGE(now < deadline, method << ": no answer from Chromium within 15 s");
      std::optional<std::string> m = read(deadline - now);
      if (!m) continue;
      if (m->rfind(prefix, 0) != 0) continue;  // an event, kept by read()
      REQUIRE_MESSAGE(m->find("\"error\":{") != prefix.size(), method << ": " << *m);
      return *m;
    }
  }

  // Evaluates EXPRESSION in the page; its value, as a string.
  std::string evaluate(const std::string& expression) {
    const std::string answer = call(
        "Runtime.evaluate", "{\"expression\":" + gpux::json::quoted("String(" + expression + ")") +
                                ",\"returnByValue\":true}");
    REQUIRE_MESSAGE(answer.find("\"exceptionDetails\"") == std::string::npos,
                    expression << ": " << answer);
    const auto result = answer.find("\"result\":{\"result\":");
    REQUIRE_MESSAGE(result != std::string::npos, answer);
    return string_field(answer, "value", result);
  }

  // Reads what Chromium sends for up to `wait` (the polls' pause between looks).
  void pump(Clock::duration wait) {
    const auto until = Clock::now() + wait;
    for (auto now = Clock::now(); now < until; now = Clock::now())
      read(until - now);
  }

  // Every event so far, each message's text, oldest first.
  const std::vector<std::string>& events() const { return events_; }

 private:
  // The next message within `wait`, or nothing. Events are kept in events_.
  std::optional<std::string> read(Clock::duration wait) {
    if (!pending_) {
      pending_ = true;
      buffer_.clear();
      ws_.async_read(buffer_, [this](beast::error_code error, std::size_t) {
        pending_ = false;
        error_ = error;
      });
    }
    io_.restart();
    io_.run_for(wait);
    if (pending_) return std::nullopt;  // still reading: picked up next time
    REQUIRE_MESSAGE(!error_, "the DevTools connection failed: " << error_.message());
    std::string message = beast::buffers_to_string(buffer_.data());
    if (message.rfind("{\"method\":", 0) == 0) events_.push_back(message);
    return message;
  }

  asio::io_context io_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  bool pending_ = false;
  beast::error_code error_;
  int next_id_ = 1;
  std::vector<std::string> events_;
};

// What the page shows, read from its DOM.
struct PageState {
  std::string status, symbol, last_trade, points, bids, offers, trades;
  bool loaded = false;  // start() has finished: the index note is written
};

std::ostream& operator<<(std::ostream& out, const PageState& s) {
  return out << "status: " << s.status << "\nsymbol: " << s.symbol
             << "\nlast trade: " << s.last_trade << "\nprice chart points: " << s.points
             << "\nbids:\n"
             << s.bids << "\noffers:\n"
             << s.offers << "\ntrades:\n"
             << s.trades << "\nloaded: " << s.loaded;
}

PageState read_page(DevTools& page) {
  // Fields apart with U+0001, which no field holds.
  const std::string text = page.evaluate(
      "(() => { const text = (id) => { const e = document.getElementById(id);"
      " return e ? e.innerText.trim() : '<no #' + id + '>'; };"
      " const chart = document.getElementById('price-chart');"
      " return [text('status'), text('symbol'), text('last-trade'),"
      " chart ? chart.dataset.points : '<no #price-chart>', text('bids'), text('offers'),"
      " text('trades'), text('index-note') !== '' ? 'yes' : 'no'].join('\\u0001'); })()");
  std::vector<std::string> fields(1);
  for (const char c : text) {
    if (c == '\x01')
      fields.emplace_back();
    else
      fields.back() += c;
  }
  REQUIRE_MESSAGE(fields.size() == 8, text);
  return {fields[0], fields[1], fields[2], fields[3],
          fields[4], fields[5], fields[6], fields[7] == "yes"};
}

// Reads the page until `shows` holds, up to `seconds`; what it showed last.
PageState wait_for_page(DevTools& page, const std::string& what,
                        const std::function<bool(const PageState&)>& shows, int seconds = 15) {
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  PageState state = read_page(page);
  while (!shows(state)) {
    if (Clock::now() > deadline) {
      std::string events;
      for (const std::string& e : page.events())
        if (e.find("Runtime.exceptionThrown") != std::string::npos ||
            e.find("Log.entryAdded") != std::string::npos ||
            e.find("Runtime.consoleAPICalled") != std::string::npos)
          events += e.substr(0, 600) + "\n";
      FAIL("the page did not show " << what << " within " << seconds << " s; it shows:\n"
                                    << state << "\nits errors and console:\n"
                                    << events);
    }
    page.pump(std::chrono::milliseconds(50));
    state = read_page(page);
  }
  return state;
}

// The table's rows as innerText gives them, cells apart with tabs.
std::vector<std::string> rows(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("market page in headless Chromium: the book from FIX, a trade live, loopback only") {
  Exchange exchange;
  // Traded before the page loads: the tape's history and the chart's first point.
  exchange.place("SELLER", "sell " + std::string(kSymbol) + " 1 2.00 --id s-history");
  exchange.place("BUYER", "buy " + std::string(kSymbol) + " 1 2.00 --id b-history");
  // The book: two offers, two bids.
  exchange.place("SELLER", "sell " + std::string(kSymbol) + " 3 2.10 --id s1");
  exchange.place("SELLER", "sell " + std::string(kSymbol) + " 5 2.20 --id s2");
  exchange.place("BUYER", "buy " + std::string(kSymbol) + " 4 1.90 --id b1");
  exchange.place("BUYER", "buy " + std::string(kSymbol) + " 2 1.80 --id b2");

  Chromium chromium(exchange.dir.path());
  DevTools page(page_target(chromium.devtools_port()));
  // Watched from before the first request: every URL the page asks for,
  // its CSP's complaints and its errors.
  for (const char* domain : {"Network", "Page", "Runtime", "Log"})
    page.call(std::string(domain) + ".enable");
  const std::string origin = exchange.page_origin();
  const std::string url = "http://" + origin + "/?symbol=" + kSymbol;
  page.call("Page.navigate", "{\"url\":" + gpux::json::quoted(url) + "}");

  {
    PageState shown = wait_for_page(page, "the book and the live stream", [](const PageState& s) {
      return s.loaded && s.status.rfind("live", 0) == 0 && !s.bids.empty() && !s.offers.empty();
    });
    CHECK(shown.symbol == kSymbol);
    // Best first; the bid's quantity left of its price, the offer's right.
    CHECK(rows(shown.bids) == std::vector<std::string>{"4\t1.90", "2\t1.80"});
    CHECK(rows(shown.offers) == std::vector<std::string>{"2.10\t3", "2.20\t5"});
    CHECK(shown.last_trade == "$2.00");
    CHECK(shown.points == "1");
    REQUIRE(rows(shown.trades).size() == 1);
    CHECK(rows(shown.trades)[0].find("\t2.00\t1\tbuy") != std::string::npos);

    // A buy that crosses the best offer: 2 of its 3 units at 2.10.
    exchange.place("BUYER", "buy " + std::string(kSymbol) + " 2 2.10 --id b-cross");
    shown = wait_for_page(page, "the trade at 2.10", [](const PageState& s) {
      return s.last_trade == "$2.10" && s.points == "2";
    });
    REQUIRE(rows(shown.trades).size() == 2);
    CHECK(rows(shown.trades)[0].find("\t2.10\t2\tbuy") != std::string::npos);  // newest first
    shown = wait_for_page(page, "the offer left at 2.10", [](const PageState& s) {
      return rows(s.offers) == std::vector<std::string>{"2.10\t1", "2.20\t5"};
    });
    CHECK(rows(shown.bids) == std::vector<std::string>{"4\t1.90", "2\t1.80"});
    // The instruments' row shows the last price too.
    const std::string instruments =
        page.evaluate("document.getElementById('instruments').innerText");
    CHECK_MESSAGE(
        instruments.find(std::string(kSymbol) + "\topen\t1.90\t2.10\t2.10") != std::string::npos,
        instruments);

    // A screenshot: a real picture, with the price line drawn on the price
    // chart's canvas in its colour, #2563eb.
    std::istringstream box(page.evaluate(
        "(() => { const r = document.getElementById('price-chart').getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom].map(Math.round).join(' '); })()"));
    std::size_t left = 0, top = 0, right = 0, bottom = 0;
    REQUIRE(static_cast<bool>(box >> left >> top >> right >> bottom));
    const std::string answer = page.call("Page.captureScreenshot", "{\"format\":\"png\"}");
    const std::string png = base64_decode(string_field(answer, "data"));
    CHECK(png.size() > 10'000);
    const gpux::test::Image image = gpux::test::decode_png(png);
    REQUIRE(image.width == 1280);
    REQUIRE(image.height >= bottom);
    std::size_t differing = 0, price_line = 0;
    for (std::size_t i = 0; i < image.rgb.size(); i += 3) {
      const std::uint8_t* p = &image.rgb[i];
      differing += p[0] != image.rgb[0] || p[1] != image.rgb[1] || p[2] != image.rgb[2];
      const std::size_t x = i / 3 % image.width, y = i / 3 / image.width;
      price_line += x >= left && x < right && y >= top && y < bottom &&
                    std::abs(p[0] - 0x25) < 24 && std::abs(p[1] - 0x63) < 24 &&
                    std::abs(p[2] - 0xeb) < 24;
    }
    CHECK(differing > image.rgb.size() / 3 / 10);  // not one colour
    CHECK(price_line > 200);                       // two points: a line across the chart
    std::ofstream(exchange.dir.path() / "market-page.png", std::ios::binary) << png;

    // Nothing was fetched but from gpuxd on loopback: the page, Chart.js,
    // the API and the stream.
    std::vector<std::string> urls;
    for (const std::string& e : page.events()) {
      if (e.rfind("{\"method\":\"Network.requestWillBeSent\"", 0) == 0)
        urls.push_back(string_field(e, "url", e.find("\"request\":")));
      if (e.rfind("{\"method\":\"Network.webSocketCreated\"", 0) == 0)
        urls.push_back(string_field(e, "url"));
    }
    std::string all;
    for (const std::string& u : urls)
      all += u + "\n";
    INFO("the page's requests:\n" << all);
    for (const std::string& u : urls)
      CHECK_MESSAGE(
          (u.rfind("http://" + origin + "/", 0) == 0 || u.rfind("ws://" + origin + "/", 0) == 0),
          u);
    for (const std::string& wanted :
         {"http://" + origin + "/?symbol=" + kSymbol, "http://" + origin + "/chart.js",
          "ws://" + origin + "/api/v1/stream"})
      CHECK_MESSAGE(std::find(urls.begin(), urls.end(), wanted) != urls.end(), wanted);
    // No script error, nothing the Content-Security-Policy blocked.
    for (const std::string& e : page.events()) {
      CHECK_MESSAGE(e.find("Runtime.exceptionThrown") == std::string::npos, e);
      CHECK_MESSAGE(e.find("Content Security Policy") == std::string::npos, e);
    }
  }

  CHECK_MESSAGE(chromium.kill(), "chromium left processes running");
}
