// Matching-engine benchmark: sustained throughput of one engine thread on
// three workloads (against the reference book as the in-run baseline), open-
// loop latency at fixed offered rates measured from each command's planned
// send time (no coordinated omission), and memory per resting order.
// Prints a table and writes JSON. Run via ops/bench-matching.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "arguments.h"
#include "gpux/matching/engine.h"
#include "latency_histogram.h"
#include "workloads.h"

namespace {

using namespace gpux::matching;
using gpux::bench::LatencyHistogram;
using gpux::bench::Workload;
using Clock = std::chrono::steady_clock;

struct Options {
  bool quick = false;
  std::string json_path = "bench-matching.json";
  int runs = 5;
  std::size_t commands = 4'000'000;
  std::vector<double> rates = {1e6, 5e6};
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [--quick] [--runs N] [--commands N] [--json PATH]\n"
      "  --quick        300k commands per workload, 3 runs (seconds)\n"
      "  --runs N       throughput runs per workload and book; the median is reported (default 5)\n"
      "  --commands N   measured commands per workload (default 4,000,000)\n"
      "  --json PATH    where to write results (default bench-matching.json)\n",
      argv0);
}

void parse(int argc, char** argv, Options& o) {
  gpux::bench::Arguments args(argc, argv, usage);
  while (args.next()) {
    if (args.is("--quick")) {
      o.quick = true;
      o.runs = 3;
      o.commands = 300'000;
    } else if (args.is("--runs")) {
      o.runs = static_cast<int>(args.count(1));
    } else if (args.is("--commands")) {
      o.commands = args.count(1'000);
    } else if (args.is("--json")) {
      o.json_path = args.value();
    } else {
      args.unknown();
    }
  }
}

// What a real listener costs at least: one virtual call per event.
struct CountingListener : EventListener {
  std::uint64_t events = 0;
  void on_event(const Event&) override { ++events; }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Millions per second, or thousands where that would read 0.00M.
std::string per_second(double rate) {
  char text[32];
  if (rate >= 1e5) {
    std::snprintf(text, sizeof text, "%.2fM", rate / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.2fk", rate / 1e3);
  }
  return text;
}

struct Prepared {
  CountingListener listener;
  std::unique_ptr<Engine> engine;
};

std::unique_ptr<Prepared> prepare(const Workload& w, BookKind book) {
  auto p = std::make_unique<Prepared>();
  p->engine = make_engine({}, p->listener, book);
  for (const Command& c : w.setup)
    p->engine->apply(c);
  return p;
}

// Commands per second, median over runs, each on a freshly set-up engine.
double throughput(const Workload& w, BookKind book, int runs) {
  std::vector<double> rates;
  for (int r = 0; r < runs; ++r) {
    auto p = prepare(w, book);
    const auto start = Clock::now();
    for (const Command& c : w.measured)
      p->engine->apply(c);
    const std::chrono::duration<double> took = Clock::now() - start;
    rates.push_back(static_cast<double>(w.measured.size()) / took.count());
  }
  return median(rates);
}

struct LatencyResult {
  std::string workload;
  double offered = 0;
  double achieved = 0;
  LatencyHistogram histogram;
};

// Percentiles of several runs of one measurement: the median run's figure for
// each percentile, and the worst maximum seen.
struct LatencySummary {
  std::string workload;
  double offered = 0;
  double achieved = 0;
  std::uint64_t p50 = 0, p99 = 0, p99_9 = 0, p99_99 = 0, max = 0;
};

template <class Measure>
LatencySummary summarize(int runs, Measure&& measure) {
  std::vector<LatencyResult> results;
  for (int r = 0; r < runs; ++r)
    results.push_back(measure());
  const auto median_of = [&](auto figure) {
    std::vector<double> v;
    for (const LatencyResult& l : results)
      v.push_back(static_cast<double>(figure(l)));
    return median(v);
  };
  LatencySummary s{results[0].workload, results[0].offered};
  s.achieved = median_of([](const LatencyResult& l) { return l.achieved; });
  s.p50 = static_cast<std::uint64_t>(
      median_of([](const LatencyResult& l) { return l.histogram.percentile(0.5); }));
  s.p99 = static_cast<std::uint64_t>(
      median_of([](const LatencyResult& l) { return l.histogram.percentile(0.99); }));
  s.p99_9 = static_cast<std::uint64_t>(
      median_of([](const LatencyResult& l) { return l.histogram.percentile(0.999); }));
  s.p99_99 = static_cast<std::uint64_t>(
      median_of([](const LatencyResult& l) { return l.histogram.percentile(0.9999); }));
  for (const LatencyResult& l : results)
    s.max = std::max(s.max, l.histogram.max());
  return s;
}

// Sends command i at start + i / rate and records completion - planned time,
// so a stall is charged to every command that queued behind it. `process`
// handles command i.
template <class Process>
LatencyResult open_loop(std::string name, std::size_t commands, double rate, Process&& process) {
  LatencyResult result{std::move(name), rate, 0, {}};
  const double interval = 1e9 / rate;
  const auto start = Clock::now() + std::chrono::milliseconds(1);
  for (std::size_t i = 0; i < commands; ++i) {
    const auto planned = start + std::chrono::nanoseconds(static_cast<std::int64_t>(i * interval));
    auto now = Clock::now();
    while (now < planned)
      now = Clock::now();
    process(i);
    result.histogram.record(static_cast<std::uint64_t>((Clock::now() - planned).count()));
  }
  const std::chrono::duration<double> took = Clock::now() - start;
  result.achieved = static_cast<double>(commands) / took.count();
  return result;
}

LatencyResult open_loop(const Workload& w, double rate) {
  auto p = prepare(w, BookKind::price_ladder);
  return open_loop(w.name, w.measured.size(), rate,
                   [&](std::size_t i) { p->engine->apply(w.measured[i]); });
}

// Closed loop, each command timed alone: the engine's own service time,
// without queueing. Includes one clock read (~20 ns).
LatencyResult service_time(const Workload& w) {
  LatencyResult result{w.name, 0, 0, {}};
  auto p = prepare(w, BookKind::price_ladder);
  const auto start = Clock::now();
  auto before = start;
  for (const Command& c : w.measured) {
    p->engine->apply(c);
    const auto after = Clock::now();
    result.histogram.record(static_cast<std::uint64_t>((after - before).count()));
    before = after;
  }
  const std::chrono::duration<double> took = before - start;
  result.achieved = static_cast<double>(w.measured.size()) / took.count();
  return result;
}

// The same loop with nothing to do: what this machine's scheduler and clock
// cost on their own. Engine figures are only as good as this floor.
LatencyResult harness_floor(std::size_t commands, double rate) {
  return open_loop("(harness, no engine)", commands, rate, [](std::size_t) {});
}

struct ThroughputResult {
  const Workload* workload;
  double ladder = 0;
  double reference = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  parse(argc, argv, options);

  std::printf(
      "gpux matching benchmark (%s: %zu measured commands per workload, median of %d runs)\n",
      options.quick ? "quick" : "full", options.commands, options.runs);
  std::vector<Workload> workloads;
  for (auto make :
       {gpux::bench::exchange_core_mix, gpux::bench::cancel_heavy, gpux::bench::deep_book}) {
    workloads.push_back(make(options.commands, 42));
    std::printf("  generated %-22s (%zu setup + %zu measured commands)\n",
                workloads.back().name.c_str(), workloads.back().setup.size(),
                workloads.back().measured.size());
    std::fflush(stdout);
  }

  // Block orders: too slow per command for the open-loop rates, so measured
  // for throughput and service time only.
  const Workload blocks = gpux::bench::block_sweep(options.quick ? 200 : 1'000, 42);
  std::printf("  generated %-22s (%zu setup + %zu measured commands)\n", blocks.name.c_str(),
              blocks.setup.size(), blocks.measured.size());

  const std::vector<const Workload*> all = {&workloads[0], &workloads[1], &workloads[2], &blocks};

  std::vector<ThroughputResult> throughputs;
  for (const Workload* w : all) {
    std::printf("  throughput  %s ...\n", w->name.c_str());
    std::fflush(stdout);
    throughputs.push_back({w, throughput(*w, BookKind::price_ladder, options.runs),
                           throughput(*w, BookKind::reference, options.runs)});
  }
  const int runs = options.runs;
  std::vector<LatencySummary> latencies;
  for (const Workload* w : all)
    latencies.push_back(summarize(runs, [&] { return service_time(*w); }));
  for (double rate : options.rates)
    latencies.push_back(summarize(runs, [&] { return harness_floor(options.commands, rate); }));
  for (const Workload& w : workloads) {
    for (double rate : options.rates) {
      std::printf("  latency     %s at %.0fM/s ...\n", w.name.c_str(), rate / 1e6);
      std::fflush(stdout);
      latencies.push_back(summarize(runs, [&] { return open_loop(w, rate); }));
    }
  }
  auto deep = prepare(workloads[2], BookKind::price_ladder);
  const MemoryUsage memory = deep->engine->memory_usage();
  const double bytes_per_order =
      static_cast<double>(memory.order_pool_bytes + memory.order_index_bytes) /
      static_cast<double>(memory.resting_orders);

  std::printf("\nThroughput, one engine thread, risk checks and self-trade prevention on\n");
  std::printf("%-22s %7s %7s %6s %6s %14s %14s %8s\n", "workload", "orders", "levels", "cxl%",
              "rpl%", "ladder cmd/s", "reference", "ratio");
  for (const ThroughputResult& t : throughputs)
    std::printf("%-22s %7.0f %7.0f %6.1f %6.1f %14s %14s %7.1fx\n", t.workload->name.c_str(),
                t.workload->mean_resting_orders, t.workload->mean_price_levels,
                100 * t.workload->cancelled_share, 100 * t.workload->replaced_share,
                per_second(t.ladder).c_str(), per_second(t.reference).c_str(),
                t.ladder / t.reference);
  std::printf(
      "(orders, levels: mean resting orders and non-empty price levels; cxl%%: resting "
      "orders ended by cancel; rpl%%: replaces per limit order)\n");

  std::printf(
      "\nLatency, price-ladder book, ns. offered 0: closed-loop service time of each "
      "command;\notherwise open loop, measured from each command's planned send time\n");
  std::printf("%-22s %8s %9s %7s %7s %8s %8s %9s\n", "workload", "offered", "achieved", "p50",
              "p99", "p99.9", "p99.99", "max");
  for (const LatencySummary& l : latencies)
    std::printf("%-22s %7.0fM %9s %7llu %7llu %8llu %8llu %9llu\n", l.workload.c_str(),
                l.offered / 1e6, per_second(l.achieved).c_str(),
                static_cast<unsigned long long>(l.p50), static_cast<unsigned long long>(l.p99),
                static_cast<unsigned long long>(l.p99_9), static_cast<unsigned long long>(l.p99_99),
                static_cast<unsigned long long>(l.max));

  std::printf(
      "\nMemory (deep book, %zu resting orders): %.1f bytes per resting order "
      "(pool %zu + index %zu bytes); price levels %zu bytes per instrument\n",
      memory.resting_orders, bytes_per_order, memory.order_pool_bytes, memory.order_index_bytes,
      memory.book_bytes);

  std::ofstream json(options.json_path);
  json << "{\n  \"mode\": \"" << (options.quick ? "quick" : "full")
       << "\",\n  \"measured_commands\": " << options.commands << ",\n  \"runs\": " << options.runs
       << ",\n  \"throughput\": [\n";
  for (std::size_t i = 0; i < throughputs.size(); ++i) {
    const ThroughputResult& t = throughputs[i];
    json << "    {\"workload\": \"" << t.workload->name << "\", \"description\": \""
         << t.workload->description
         << "\", \"mean_resting_orders\": " << t.workload->mean_resting_orders
         << ", \"mean_price_levels\": " << t.workload->mean_price_levels
         << ", \"trades\": " << t.workload->trades << ", \"ladder_commands_per_s\": " << t.ladder
         << ", \"reference_commands_per_s\": " << t.reference
         << ", \"ratio_vs_reference\": " << t.ladder / t.reference << "}"
         << (i + 1 < throughputs.size() ? ",\n" : "\n");
  }
  json << "  ],\n  \"latency_ns\": [\n";
  for (std::size_t i = 0; i < latencies.size(); ++i) {
    const LatencySummary& l = latencies[i];
    json << "    {\"workload\": \"" << l.workload << "\", \"offered_per_s\": " << l.offered
         << ", \"achieved_per_s\": " << l.achieved << ", \"p50\": " << l.p50
         << ", \"p99\": " << l.p99 << ", \"p99_9\": " << l.p99_9 << ", \"p99_99\": " << l.p99_99
         << ", \"max\": " << l.max << "}" << (i + 1 < latencies.size() ? ",\n" : "\n");
  }
  json << "  ],\n  \"memory\": {\"resting_orders\": " << memory.resting_orders
       << ", \"bytes_per_resting_order\": " << bytes_per_order
       << ", \"order_pool_bytes\": " << memory.order_pool_bytes
       << ", \"order_index_bytes\": " << memory.order_index_bytes
       << ", \"book_bytes_per_instrument\": " << memory.book_bytes << "}\n}\n";
  if (!json) {
    std::fprintf(stderr, "could not write %s\n", options.json_path.c_str());
    return 1;
  }
  std::printf("\nwrote %s\n", options.json_path.c_str());
  return 0;
}
