// gpux-bench fix: durable round trips over real FIX sessions. Starts a gpuxd
// (release build) on a scratch data directory for each offered rate, logs N
// QuickFIX initiator sessions on from this separate process, and sends
// NewOrderSingles open loop (each order's time is fixed by the schedule, not
// by the previous answer, so a stall shows up in the latency of everything
// behind it), cancelling older orders as it goes so the book stays bounded.
// Latency: scheduled send -> ExecutionReport(New) received, which the
// exchange sends only once the order is journaled and fsync'd.
// C++14, like every QuickFIX unit.
#include <quickfix/Application.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/local_daemon.h"
#include "arguments.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string gpuxd = "build/release/gateway/gpuxd";
  std::string dictionary = "gateway/fix/gpux-FIX44.xml";
  std::string json = "out/bench-fix.json";
  std::vector<int> rates = {1000, 5000, 20000, 30000};
  int sessions = 8;
  double seconds = 10;
  int resting = 200;                      // per session; older orders are cancelled
  std::vector<std::string> daemon_lines;  // appended to gpuxd's config (experiments)
  bool timeline = false;
  // Run again and again beside the load ({data}: gpuxd's data_dir, {config}:
  // its configuration file), e.g. gpux report on the running exchange.
  std::string beside;
};

void usage(const char*) {
  std::printf(
      "usage: gpux-bench-fix [--quick] [--sessions N] [--rates R1,R2,...] [--seconds S]\n"
      "                      [--gpuxd PATH] [--dictionary PATH] [--json FILE]\n"
      "                      [--daemon-config 'KEY = VALUE']... [--timeline]\n"
      "                      [--beside 'COMMAND']\n"
      "\n"
      "For each offered rate (orders/s, all sessions together): a fresh gpuxd, N FIX\n"
      "sessions, open-loop NewOrderSingles plus cancels for S seconds. Reports the\n"
      "durable round-trip throughput and NOS -> ExecutionReport latency.\n"
      "  --quick           rates 1000,20000 for 3 s each\n"
      "  --daemon-config   a line for gpuxd's configuration, e.g. 'sync = false' to see\n"
      "                    what the fsync costs (then nothing is durable)\n"
      "  --timeline        each rate's p50 and max latency by 200 ms of the schedule\n"
      "  --beside          a shell command run over and over while the load runs;\n"
      "                    {data} is gpuxd's data_dir, {config} its configuration\n"
      "                    (e.g. 'gpux report --data-dir {data} --config {config} ...')\n");
}

// Receives ExecutionReports and records each order's latency.
class LoadClient : public FIX::Application {
 public:
  explicit LoadClient(std::size_t orders) : sent_at_(orders), latency_ns_(orders, -1) {}

  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++logons_;
    changed_.notify_all();
  }
  void onLogout(const FIX::SessionID&) override {}
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}
  void fromApp(const FIX::Message& message,
               const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                            FIX::IncorrectTagValue,
                                            FIX::UnsupportedMessageType) override {
    const auto now = Clock::now();
    if (message.getHeader().getField(FIX::FIELD::MsgType) != "8") return;
    const std::string type = message.getField(FIX::FIELD::ExecType);
    const std::string id = message.getField(FIX::FIELD::ClOrdID);
    if (id.empty() || id[0] != 'n') return;  // cancels' own reports
    const std::size_t k = std::strtoull(id.c_str() + 1, nullptr, 10);
    if (k >= sent_at_.size()) return;
    if (type == "8") rejected_.fetch_add(1);
    if (type != "0" && type != "8") return;
    latency_ns_[k] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent_at_[k]).count();
    last_ack_ = now;
    if (answered_.fetch_add(1) + 1 == expected_) {
      std::lock_guard<std::mutex> lock(mutex_);
      changed_.notify_all();
    }
  }

  bool wait_logons(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return logons_ >= n; });
  }
  bool wait_answers(std::size_t n, std::chrono::seconds limit) {
    expected_ = n;
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return answered_.load() >= n; });
  }

  std::vector<Clock::time_point> sent_at_;  // scheduled send time, by order number
  std::vector<long long> latency_ns_;
  std::atomic<std::size_t> answered_{0};
  std::atomic<std::size_t> rejected_{0};
  std::atomic<std::size_t> expected_{0};
  Clock::time_point last_ack_;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int logons_ = 0;
};

struct Result {
  int offered = 0;
  std::size_t orders = 0;
  std::size_t answered = 0;
  std::size_t rejected = 0;
  double throughput = 0;  // orders answered per second over the run
  int beside_runs = 0;    // completed runs of --beside's command
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// gpuxd for one run; stopped with SIGTERM.
class Daemon {
 public:
  Daemon(const Options& o, const std::string& config, const std::string& log)
      : pid_(gpux::local::spawn_daemon(o.gpuxd, config, log)) {
    if (pid_ < 0)
      throw std::runtime_error("cannot start " + o.gpuxd + " (build it: ops/build release)");
  }
  ~Daemon() { gpux::local::stop_daemon(pid_, SIGTERM); }

 private:
  pid_t pid_;
};

Result run(const Options& o, int rate) {
  char pattern[] = "/tmp/gpux-bench-fix-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const int port = gpux::local::free_port();
  {
    std::ofstream config((dir + "/gpux.conf").c_str());
    config << "data_dir = " << dir << "/data\nfix_port = " << port
           << "\nfix_max_messages_per_second = 1000000\n"
           << "instrument = 1 symbol=BENCH class=H100-SXM region=us-east start=4102444800 "
              "tick=100 max=1000 reference=2000000 band=1000000\n";
    for (int s = 1; s <= o.sessions; ++s)
      config << "participant = " << s << " cash=1000000000000000\n"
             << "capacity = " << s << " instrument=1 units=1000000000\n"
             << "fix_client = B" << s << " participant=" << s << " password=none\n";
    for (const std::string& line : o.daemon_lines)
      config << line << "\n";
  }
  Daemon daemon(o, dir + "/gpux.conf", dir + "/gpuxd.log");
  if (!gpux::local::wait_for_listener(port))
    throw std::runtime_error("gpuxd did not listen; see " + dir);

  const std::size_t orders = static_cast<std::size_t>(rate * o.seconds);
  LoadClient client(orders);
  FIX::SessionSettings settings;
  FIX::Dictionary defaults;
  defaults.setString("ConnectionType", "initiator");
  defaults.setString("SocketConnectHost", "127.0.0.1");
  defaults.setInt("SocketConnectPort", port);
  defaults.setInt("HeartBtInt", 30);
  defaults.setString("StartTime", "00:00:00");
  defaults.setString("EndTime", "00:00:00");
  defaults.setString("UseDataDictionary", "Y");
  defaults.setString("DataDictionary", o.dictionary);
  defaults.setString("ResetOnLogon", "Y");
  defaults.setString("SocketNodelay", "Y");
  settings.set(defaults);
  std::vector<FIX::SessionID> sessions;
  for (int s = 1; s <= o.sessions; ++s) {
    sessions.emplace_back("FIX.4.4", "B" + std::to_string(s), "GPUX");
    settings.set(sessions.back(), FIX::Dictionary());
  }
  FIX::MemoryStoreFactory store;
  FIX::SocketInitiator initiator(client, store, settings);
  initiator.start();
  if (!client.wait_logons(o.sessions)) throw std::runtime_error("sessions did not log on");

  std::atomic<bool> load_done{false};
  std::atomic<int> beside_runs{0};
  std::thread beside;
  if (!o.beside.empty()) {
    std::string command = o.beside;
    const std::pair<std::string, std::string> places[] = {{"{data}", dir + "/data"},
                                                          {"{config}", dir + "/gpux.conf"}};
    for (const auto& place : places)
      for (auto at = command.find(place.first); at != std::string::npos;
           at = command.find(place.first, at))
        command.replace(at, place.first.size(), place.second);
    beside = std::thread([&, command] {
      while (!load_done.load()) {
        if (std::system(command.c_str()) != 0 && !load_done.load())
          std::fprintf(stderr, "gpux-bench-fix: --beside failed: %s\n", command.c_str());
        beside_runs += load_done.load() ? 0 : 1;
      }
    });
  }

  const auto period = std::chrono::nanoseconds(static_cast<long long>(1e9 / rate));
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const std::string price[2] = {"2.400000", "2.500000"};  // asks, never crossing: they rest
  for (std::size_t k = 0; k < orders; ++k) {
    const auto when = start + period * static_cast<long long>(k);
    client.sent_at_[k] = when;
    if (period >= std::chrono::microseconds(500)) {
      // Low rates: sleep, then spin the last stretch so each order leaves on time.
      while (Clock::now() < when) {
        if (when - Clock::now() > std::chrono::microseconds(200))
          std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    } else if (Clock::now() < when) {
      // High rates: spinning would take a core from gpuxd on a small machine.
      // The kernel wakes this thread late, and the orders due by then leave
      // together; latency still counts from each order's scheduled time.
      std::this_thread::sleep_until(when);
    }
    const FIX::SessionID& session = sessions[k % sessions.size()];
    FIX::Message order;
    order.getHeader().setField(FIX::FIELD::MsgType, "D");
    order.setField(FIX::FIELD::ClOrdID, "n" + std::to_string(k));
    order.setField(FIX::FIELD::Symbol, "BENCH");
    order.setField(FIX::FIELD::Side, "2");
    order.setField(FIX::TransactTime());
    order.setField(FIX::FIELD::OrderQty, "1");
    order.setField(FIX::FIELD::OrdType, "2");
    order.setField(FIX::FIELD::Price, price[k & 1]);
    FIX::Session::sendToTarget(order, session);
    // The same session's order from `resting` rounds ago goes.
    const std::size_t old = k - static_cast<std::size_t>(o.resting) * sessions.size();
    if (k >= static_cast<std::size_t>(o.resting) * sessions.size()) {
      FIX::Message cancel;
      cancel.getHeader().setField(FIX::FIELD::MsgType, "F");
      cancel.setField(FIX::FIELD::OrigClOrdID, "n" + std::to_string(old));
      cancel.setField(FIX::FIELD::ClOrdID, "c" + std::to_string(old));
      cancel.setField(FIX::FIELD::Symbol, "BENCH");
      cancel.setField(FIX::FIELD::Side, "2");
      cancel.setField(FIX::TransactTime());
      FIX::Session::sendToTarget(cancel, session);
    }
  }
  client.wait_answers(orders, std::chrono::seconds(60));
  load_done = true;
  if (beside.joinable()) beside.join();
  initiator.stop();

  Result r;
  r.offered = rate;
  r.orders = orders;
  r.answered = client.answered_.load();
  r.rejected = client.rejected_.load();
  r.beside_runs = beside_runs.load();
  r.throughput = static_cast<double>(r.answered) /
                 std::chrono::duration<double>(client.last_ack_ - start).count();
  if (o.timeline) {
    // Where in the run the slow orders were: queueing after a stall shows as
    // a run of windows, not as a few orders.
    std::printf("  %d/s, by 200 ms of schedule: p50 / max latency (ms)\n   ", rate);
    const std::size_t window = std::max<std::size_t>(1, static_cast<std::size_t>(rate / 5));
    for (std::size_t from = 0; from < orders; from += window) {
      std::vector<long long> in(
          client.latency_ns_.begin() + static_cast<long>(from),
          client.latency_ns_.begin() + static_cast<long>(std::min(orders, from + window)));
      std::sort(in.begin(), in.end());
      std::printf(" %.1f/%.1f", in[in.size() / 2] / 1e6, in.back() / 1e6);
    }
    std::printf("\n");
  }
  std::vector<long long> latencies;
  for (long long l : client.latency_ns_)
    if (l >= 0) latencies.push_back(l);
  std::sort(latencies.begin(), latencies.end());
  const auto at = [&](double q) {
    if (latencies.empty()) return 0.0;
    return latencies[std::min(
               latencies.size() - 1,
               static_cast<std::size_t>(q * static_cast<double>(latencies.size())))] /
           1000.0;
  };
  r.p50_us = at(0.50);
  r.p99_us = at(0.99);
  r.p999_us = at(0.999);
  r.max_us = latencies.empty() ? 0 : latencies.back() / 1000.0;
  std::system(("rm -rf '" + dir + "'").c_str());
  return r;
}

// The floor under any durable acknowledgement here: one small append and
// fdatasync, as the journal's group commit does, on the same file system.
std::pair<double, double> fsync_floor_us() {
  char pattern[] = "/tmp/gpux-bench-fsync-XXXXXX";
  const int fd = ::mkstemp(pattern);
  std::vector<double> us;
  const std::string record(200, 'x');
  for (int i = 0; i < 2000; ++i) {
    if (::write(fd, record.data(), record.size()) < 0) break;
    const auto t = Clock::now();
    ::fdatasync(fd);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  ::close(fd);
  ::unlink(pattern);
  std::sort(us.begin(), us.end());
  if (us.empty()) return {0, 0};
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

std::vector<int> parse_rates(const std::string& text) {
  std::vector<int> rates;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    rates.push_back(std::atoi(item.c_str()));
  return rates;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  gpux::bench::Arguments args(argc, argv, usage);
  while (args.next()) {
    if (args.is("--quick")) {
      o.rates = {1000, 20000};
      o.seconds = 3;
    } else if (args.is("--sessions")) {
      o.sessions = static_cast<int>(args.count(1));
    } else if (args.is("--rates")) {
      o.rates = parse_rates(args.value());
    } else if (args.is("--seconds")) {
      o.seconds = std::atof(args.value());
    } else if (args.is("--gpuxd")) {
      o.gpuxd = args.value();
    } else if (args.is("--dictionary")) {
      o.dictionary = args.value();
    } else if (args.is("--timeline")) {
      o.timeline = true;
    } else if (args.is("--beside")) {
      o.beside = args.value();
    } else if (args.is("--daemon-config")) {
      o.daemon_lines.push_back(args.value());
    } else if (args.is("--json")) {
      o.json = args.value();
    } else {
      args.unknown();
    }
  }
  if (o.seconds <= 0 || o.rates.empty() ||
      std::any_of(o.rates.begin(), o.rates.end(), [](int r) { return r <= 0; })) {
    std::fprintf(stderr, "gpux-bench-fix: seconds and rates must be positive\n");
    return 2;
  }
  std::printf(
      "gpux-bench fix: %d sessions, %.0f s per rate, open loop, NOS -> ER(New) after fsync\n\n",
      o.sessions, o.seconds);
  const auto floor = fsync_floor_us();
  std::printf(
      "fsync floor on this file system (append 200 B + fdatasync): p50 %.0f us, p99 %.0f us\n\n",
      floor.first, floor.second);
  std::printf("%10s %9s %9s %8s %12s %9s %9s %9s %9s %7s\n", "offered/s", "orders", "answered",
              "rejected", "achieved/s", "p50 us", "p99 us", "p99.9 us", "max us", "beside");
  std::vector<Result> results;
  for (int rate : o.rates) {
    try {
      results.push_back(run(o, rate));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpux-bench-fix: %s\n", e.what());
      return 1;
    }
    const Result& r = results.back();
    std::printf("%10d %9zu %9zu %8zu %12.0f %9.0f %9.0f %9.0f %9.0f %7d\n", r.offered, r.orders,
                r.answered, r.rejected, r.throughput, r.p50_us, r.p99_us, r.p999_us, r.max_us,
                r.beside_runs);
    std::fflush(stdout);
  }
  std::ofstream json(o.json.c_str());
  json << "{\n  \"benchmark\": \"fix\",\n  \"sessions\": " << o.sessions
       << ",\n  \"seconds_per_rate\": " << o.seconds
       << ",\n  \"fsync_floor_p50_us\": " << floor.first
       << ",\n  \"fsync_floor_p99_us\": " << floor.second << ",\n  \"runs\": [\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    json << "    {\"offered_per_s\": " << r.offered << ", \"orders\": " << r.orders
         << ", \"answered\": " << r.answered << ", \"rejected\": " << r.rejected
         << ", \"achieved_per_s\": " << static_cast<long long>(r.throughput)
         << ", \"p50_us\": " << r.p50_us << ", \"p99_us\": " << r.p99_us
         << ", \"p999_us\": " << r.p999_us << ", \"max_us\": " << r.max_us
         << ", \"beside_runs\": " << r.beside_runs << "}" << (i + 1 < results.size() ? "," : "")
         << "\n";
  }
  json << "  ]\n}\n";
  std::printf("\nJSON: %s\n", o.json.c_str());
  return 0;
}
