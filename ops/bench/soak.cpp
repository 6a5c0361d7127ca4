// gpux-soak: honest FIX sessions and hostile clients against one gpuxd for
// minutes. Honest sessions log on (with a password), place and cancel
// orders, log out and come back; meanwhile strangers hold connections open
// without logging on, send garbage before a Logon, guess the honest seats'
// passwords from other addresses, send invalid Logons, and one seat
// subscribes to market data and never reads. Every second gpuxd's RSS,
// open descriptors and CPU are sampled. Verdict: every honest order and
// cancel answered, every honest logon accepted, RSS under --max-rss, and the
// second half's descriptor peak within 16 of the first half's. The lowest
// RSS of each half (after memtable flushes) is printed, where a leak shows
// first; it is for reading, not part of the verdict. Not a test in the
// default suite: it runs for minutes.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../support/local_daemon.h"
#include "../support/process_usage.h"
#include "../support/raw_fix.h"
#include "arguments.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kSymbol = "H100-SXM.us-east.21000101T00";
constexpr const char* kPassword = "soak-password-1";

struct Options {
  std::string gpuxd = "build/release/gateway/gpuxd";
  std::string json = "out/soak.json";
  double seconds = 120;
  int honest = 16;
  int orders_per_second = 20;  // per honest session
  // RocksDB's memtables are most of gpuxd's memory: up to 2 x 64 MiB each for
  // the journal and the FIX session store before they flush.
  long max_rss_mib = 512;
};

void usage(const char*) {
  std::printf(
      "usage: gpux-soak [--seconds S] [--honest N] [--rate R] [--max-rss MIB] [--gpuxd PATH]\n"
      "                 [--json FILE]\n"
      "\n"
      "Runs N honest FIX sessions (R orders/s each, placed and cancelled, logging out\n"
      "and back on every 5 s) against a fresh gpuxd for S seconds (default 120), with\n"
      "hostile clients beside them: idle connections, garbage before Logon, password\n"
      "guesses from other addresses, invalid Logons, a subscriber that never reads.\n"
      "Prints gpuxd's RSS, descriptors and CPU each 10 s and a verdict; exit 1 if an\n"
      "honest order went unanswered, an honest logon failed, RSS passed --max-rss\n"
      "(default 512 MiB) or descriptors grew (second half's peak above the first's + 16).\n");
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H:%M:%S", &tm);
  return text;
}

// One raw FIX connection.
class Connection {
 public:
  Connection(int port, std::string sender, const char* source = nullptr)
      : fd_(gpux::local::connect_to(port, source)), sender_(std::move(sender)) {}
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& type, const std::string& body) {
    return send_bytes(gpux::local::fix_frame(type, sender_, "GPUX", sequence_++, utc_now(), body));
  }
  bool send_bytes(const std::string& bytes) {
    return fd_ >= 0 && ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                           static_cast<ssize_t>(bytes.size());
  }
  // The next message for which `wanted` is true, within `timeout`; empty if
  // none came or the connection closed.
  template <typename Wanted>
  std::string await(Wanted wanted, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      for (std::string m = gpux::local::take_fix_message(buffer_); !m.empty();
           m = gpux::local::take_fix_message(buffer_))
        if (wanted(m)) return m;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || fd_ < 0) return {};
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return {};
      char chunk[16384];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // Reads until the peer closes or `timeout`; whether it closed.
  bool closed_within(std::chrono::milliseconds timeout) {
    return await([](const std::string&) { return false; }, timeout).empty() && !alive();
  }

 private:
  bool alive() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) return true;
    char byte;
    return ::recv(fd_, &byte, 1, MSG_PEEK) > 0;
  }
  int fd_;
  std::string sender_;
  std::string buffer_;
  int sequence_ = 1;
};

std::string type_of(const std::string& m) {
  return gpux::local::fix_value(m, "35");
}

// A Logon that starts both sides' numbering again (ResetSeqNumFlag=Y).
bool log_on(Connection& c, const std::string& password) {
  c.send("A",
         "98=0\x01"
         "108=30\x01"
         "141=Y\x01"
         "554=" +
             password + "\x01");
  const std::string reply =
      c.await([](const std::string& m) { return type_of(m) == "A" || type_of(m) == "5"; },
              std::chrono::seconds(10));
  return type_of(reply) == "A";
}

struct Totals {
  std::atomic<long> orders{0}, answered{0}, missing{0}, logons{0}, logon_failures{0};
  std::atomic<long> hostile_connections{0};
  std::mutex mutex;
  std::vector<long> ack_us;
};

void honest_session(int port, const std::string& seat, const Options& o, Totals& totals,
                    const std::atomic<bool>& stop) {
  long next_id = 0;
  const auto interval = std::chrono::microseconds(1'000'000 / std::max(1, o.orders_per_second));
  while (!stop) {
    Connection c(port, seat);
    if (!c.connected() || !log_on(c, kPassword)) {
      ++totals.logon_failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    ++totals.logons;
    const auto until = Clock::now() + std::chrono::seconds(5);  // then log out: churn
    while (!stop && Clock::now() < until) {
      const std::string id = seat + "-" + std::to_string(next_id++);
      const auto sent = Clock::now();
      c.send("D", "11=" + id + "\x01" + "55=" + kSymbol + "\x01" + "54=1\x01" + "60=" + utc_now() +
                      "\x01" + "38=1\x01" + "40=2\x01" + "44=1.5\x01");
      ++totals.orders;
      const auto answer_to = [](const std::string& cl_ord_id) {
        return [cl_ord_id](const std::string& m) {
          return type_of(m) == "8" && gpux::local::fix_value(m, "11") == cl_ord_id;
        };
      };
      const std::string ack = c.await(answer_to(id), std::chrono::seconds(10));
      if (ack.empty()) {
        ++totals.missing;
        break;
      }
      ++totals.answered;
      {
        std::lock_guard<std::mutex> lock(totals.mutex);
        totals.ack_us.push_back(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count());
      }
      const std::string cancel = id + "-x";
      c.send("F", "41=" + id + "\x01" + "11=" + cancel + "\x01" + "55=" + kSymbol + "\x01" +
                      "54=1\x01" + "60=" + utc_now() + "\x01");
      ++totals.orders;
      if (c.await(answer_to(cancel), std::chrono::seconds(10)).empty()) {
        ++totals.missing;
        break;
      }
      ++totals.answered;
      std::this_thread::sleep_until(sent + interval);
    }
    c.send("5", "");
    c.await([](const std::string& m) { return type_of(m) == "5"; }, std::chrono::seconds(5));
  }
}

// Hostile clients, each kind in a loop until `stop`.
void hostile(int port, int kind, int honest, Totals& totals, const std::atomic<bool>& stop) {
  for (long round = 0; !stop; ++round) {
    ++totals.hostile_connections;
    switch (kind) {
      case 0: {  // 40 connections from one address that never log on, held 2 s
        std::vector<std::unique_ptr<Connection>> idle;
        for (int i = 0; i < 40; ++i)
          idle.emplace_back(new Connection(port, "IDLE", "127.0.0.2"));
        totals.hostile_connections += 39;
        std::this_thread::sleep_for(std::chrono::seconds(2));
        break;
      }
      case 1: {  // 70 KiB of garbage before any Logon
        Connection c(port, "JUNK", "127.0.0.3");
        c.send_bytes(std::string(70 << 10, 'x'));
        c.closed_within(std::chrono::seconds(15));
        break;
      }
      case 2: {  // a wrong password for an honest seat, from elsewhere
        const std::string seat = "H" + std::to_string(round % honest);
        Connection c(port, seat, "127.0.0.4");
        log_on(c, "wrong-guess-" + std::to_string(round));
        break;
      }
      case 3: {  // a Logon without HeartBtInt
        Connection c(port, "BROKEN", "127.0.0.5");
        c.send("A", "98=0\x01");
        c.closed_within(std::chrono::seconds(15));
        break;
      }
      case 4: {  // subscribes to every book change and never reads
        Connection c(port, "SLOW", "127.0.0.6");
        if (log_on(c, kPassword)) {
          c.send("V",
                 "262=md1\x01"
                 "263=1\x01"
                 "264=0\x01"
                 "267=2\x01"
                 "269=0\x01"
                 "269=1\x01"
                 "146=1\x01"
                 "55=" +
                     std::string(kSymbol) + "\x01");
          for (int i = 0; i < 100 && !stop; ++i)  // until disconnected, or 10 s
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        break;
      }
    }
  }
}

struct Sample {
  double at_s;
  long rss_kib, descriptors, cpu_ticks;
};

Sample sample(pid_t pid, Clock::time_point start) {
  return {std::chrono::duration<double>(Clock::now() - start).count(), gpux::local::rss_kib(pid),
          gpux::local::open_descriptors(pid), gpux::local::cpu_ticks(pid)};
}

std::string password_hash(const std::string& gpuxd) {
  const std::string command =
      "printf '%s' '" + std::string(kPassword) + "' | " + gpuxd + " --hash-password";
  FILE* pipe = ::popen(command.c_str(), "r");
  char line[512] = {};
  if (pipe == nullptr || std::fgets(line, sizeof line, pipe) == nullptr) return {};
  ::pclose(pipe);
  std::string hash(line);
  while (!hash.empty() && (hash.back() == '\n' || hash.back() == '\r'))
    hash.pop_back();
  return hash;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  gpux::bench::Arguments args(argc, argv, usage);
  while (args.next()) {
    if (args.is("--seconds")) {
      o.seconds = static_cast<double>(args.count(10));
    } else if (args.is("--honest")) {
      o.honest = static_cast<int>(args.count(1));
    } else if (args.is("--rate")) {
      o.orders_per_second = static_cast<int>(args.count(1));
    } else if (args.is("--max-rss")) {
      o.max_rss_mib = static_cast<long>(args.count(1));
    } else if (args.is("--gpuxd")) {
      o.gpuxd = args.value();
    } else if (args.is("--json")) {
      o.json = args.value();
    } else {
      args.unknown();
    }
  }
  const std::string hash = password_hash(o.gpuxd);
  if (hash.empty()) {
    std::fprintf(stderr, "gpux-soak: cannot run %s --hash-password\n", o.gpuxd.c_str());
    return 2;
  }
  char pattern[] = "/tmp/gpux-soak-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  const int port = gpux::local::free_port();
  {
    std::ofstream config(dir / "gpuxd.conf");
    config << "data_dir = " << (dir / "data").string() << "\nfix_port = " << port << "\n"
           << "instrument = 1 symbol=" << kSymbol
           << " class=H100-SXM region=us-east start=4102444800 tick=1000 max=100"
              " reference=2000000 band=1000000\n";
    for (int i = 0; i < o.honest; ++i)
      config << "participant = " << i + 1 << " cash=1000000000000\n"
             << "fix_client = H" << i << " participant=" << i + 1 << " password_hash=" << hash
             << "\n";
    config << "fix_client = SLOW participant=1 password_hash=" << hash << "\n"
           << "fix_client = BROKEN participant=1 password_hash=" << hash << "\n";
  }
  const pid_t pid = gpux::local::spawn_daemon(o.gpuxd, (dir / "gpuxd.conf").string(),
                                              (dir / "gpuxd.log").string());
  if (pid <= 0 || !gpux::local::wait_for_listener(port)) {
    std::fprintf(stderr, "gpux-soak: gpuxd did not start (%s)\n", (dir / "gpuxd.log").c_str());
    return 2;
  }
  std::printf("gpux-soak: gpuxd %d on port %d, %d honest sessions at %d orders/s, %.0f s\n", pid,
              port, o.honest, o.orders_per_second, o.seconds);
  Totals totals;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < o.honest; ++i)
    threads.emplace_back(honest_session, port, "H" + std::to_string(i), std::cref(o),
                         std::ref(totals), std::cref(stop));
  for (int kind = 0; kind < 5; ++kind)
    threads.emplace_back(hostile, port, kind, o.honest, std::ref(totals), std::cref(stop));

  const auto start = Clock::now();
  std::vector<Sample> samples;
  std::printf("%8s %10s %12s %10s %10s %10s\n", "t s", "RSS MiB", "descriptors", "CPU %",
              "answered", "hostile");
  while (Clock::now() - start < std::chrono::duration<double>(o.seconds)) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    samples.push_back(sample(pid, start));
    const std::size_t n = samples.size();
    if (n % 10 == 0) {
      const double cpu = (samples[n - 1].cpu_ticks - samples[n - 10].cpu_ticks) /
                         (samples[n - 1].at_s - samples[n - 10].at_s);  // ticks/s = % at 100 Hz
      std::printf("%8.0f %10.1f %12ld %10.0f %10ld %10ld\n", samples.back().at_s,
                  samples.back().rss_kib / 1024.0, samples.back().descriptors, cpu,
                  totals.answered.load(), totals.hostile_connections.load());
      std::fflush(stdout);
    }
  }
  stop = true;
  for (auto& t : threads)
    t.join();
  const int exit_status = gpux::local::stop_daemon(pid, SIGTERM);

  const auto extreme = [&](std::size_t from, std::size_t to, long Sample::*field, bool most) {
    long found = most ? 0 : std::numeric_limits<long>::max();
    for (std::size_t i = from; i < to && i < samples.size(); ++i)
      found = most ? std::max(found, samples[i].*field) : std::min(found, samples[i].*field);
    return found;
  };
  const std::size_t half = samples.size() / 2;
  const std::size_t all = samples.size();
  // The lowest RSS of each half is what is left after memtable flushes: a
  // leak shows there first.
  const long rss_low[2] = {extreme(0, half, &Sample::rss_kib, false),
                           extreme(half, all, &Sample::rss_kib, false)};
  const long rss_peak = extreme(0, all, &Sample::rss_kib, true);
  const long fds_first = extreme(0, half, &Sample::descriptors, true);
  const long fds_second = extreme(half, all, &Sample::descriptors, true);
  std::vector<long> acks = totals.ack_us;
  std::sort(acks.begin(), acks.end());
  const auto percentile = [&](double p) {
    return acks.empty() ? 0L : acks[static_cast<std::size_t>(p * (acks.size() - 1))];
  };
  const bool rss_bounded = rss_peak <= o.max_rss_mib * 1024;
  const bool fds_bounded = fds_second <= fds_first + 16;  // connections come and go
  const bool served = totals.missing == 0 && totals.logon_failures == 0 && totals.answered > 0;
  std::printf(
      "\nhonest: %ld logons, %ld logon failures, %ld orders and cancels, %ld answered, %ld "
      "missing; ack p50 %ld us, p99 %ld us, max %ld us\n"
      "hostile connections: %ld\n"
      "RSS MiB: peak %.1f (limit %ld: %s); lowest in the first half %.1f, second half %.1f\n"
      "descriptors peak: first half %ld, second half %ld (%s)\n"
      "gpuxd exit status %d\nverdict: %s\n",
      totals.logons.load(), totals.logon_failures.load(), totals.orders.load(),
      totals.answered.load(), totals.missing.load(), percentile(0.5), percentile(0.99),
      acks.empty() ? 0L : acks.back(), totals.hostile_connections.load(), rss_peak / 1024.0,
      o.max_rss_mib, rss_bounded ? "bounded" : "EXCEEDED", rss_low[0] / 1024.0, rss_low[1] / 1024.0,
      fds_first, fds_second, fds_bounded ? "bounded" : "GREW", exit_status,
      served && rss_bounded && fds_bounded && exit_status == 0 ? "PASS" : "FAIL");
  std::filesystem::create_directories(std::filesystem::path(o.json).parent_path());
  std::ofstream(o.json) << "{\"seconds\": " << o.seconds << ", \"honest_sessions\": " << o.honest
                        << ", \"logons\": " << totals.logons
                        << ", \"logon_failures\": " << totals.logon_failures
                        << ", \"answered\": " << totals.answered
                        << ", \"missing\": " << totals.missing
                        << ", \"ack_p50_us\": " << percentile(0.5)
                        << ", \"ack_p99_us\": " << percentile(0.99)
                        << ", \"hostile_connections\": " << totals.hostile_connections
                        << ", \"rss_peak_kib\": " << rss_peak << ", \"rss_lowest_kib\": ["
                        << rss_low[0] << ", " << rss_low[1] << "], \"descriptors_peak\": ["
                        << fds_first << ", " << fds_second << "]}\n";
  if (exit_status == 0) std::filesystem::remove_all(dir);
  return served && rss_bounded && fds_bounded && exit_status == 0 ? 0 : 1;
}
