// Durable-pipeline benchmark: commands per second through sequencer -> engine
// -> RocksDB journal (group commit, fsync) -> publisher; latency from submit
// to durable acknowledgement; recovery time with and without a snapshot.
// Prints a table and writes JSON. Run via ops/bench-journal.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arguments.h"
#include "gpux/replication/log.h"
#include "gpux/sequencer/pipeline.h"
#include "latency_histogram.h"
#include "workloads.h"

namespace {

using namespace gpux::matching;
using gpux::bench::LatencyHistogram;
using gpux::sequencer::Pipeline;
using gpux::sequencer::PipelineOptions;
using Clock = std::chrono::steady_clock;

struct Options {
  bool quick = false;
  int runs = 3;  // saturated runs; the median is reported
  std::size_t commands = 2'000'000;
  std::size_t recovery_commands = 10'000'000;
  std::vector<double> paced_rates = {100'000, 300'000};
  std::filesystem::path directory = "out/bench-journal-data";
  std::string json_path = "bench-journal.json";
  std::string cluster;  // NATS servers: each group commit replicated first, as a leader does
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [--quick] [--commands N] [--recovery-commands N] [--dir PATH] [--json PATH]\n"
      "  --quick                 200k commands for throughput and recovery (seconds)\n"
      "  --commands N            commands for the throughput runs (default 2,000,000)\n"
      "  --runs N                saturated runs, median reported (default 3)\n"
      "  --recovery-commands N   commands journaled before timing recovery (default 10,000,000)\n"
      "  --dir PATH              scratch data directory, emptied first and removed after\n"
      "                          (default out/bench-journal-data)\n"
      "  --json PATH             where to write results (default bench-journal.json)\n"
      "  --cluster URL[,URL...]  as a cluster's leader: each group commit appended to a\n"
      "                          JetStream stream (3 replicas, a new one per run) before\n"
      "                          the journal (ops/cluster --bench runs it)\n",
      argv0);
}

void parse(int argc, char** argv, Options& o) {
  gpux::bench::Arguments args(argc, argv, usage);
  while (args.next()) {
    if (args.is("--quick")) {
      o.quick = true;
      o.commands = 200'000;
      o.recovery_commands = 200'000;
    } else if (args.is("--commands")) {
      o.commands = args.count(1'000);
    } else if (args.is("--runs")) {
      o.runs = static_cast<int>(args.count(1));
    } else if (args.is("--recovery-commands")) {
      o.recovery_commands = args.count(1'000);
    } else if (args.is("--dir")) {
      o.directory = args.value();
    } else if (args.is("--json")) {
      o.json_path = args.value();
    } else if (args.is("--cluster")) {
      o.cluster = args.value();
    } else {
      args.unknown();
    }
  }
}

struct RunResult {
  std::string name;
  double offered = 0;  // 0 = as fast as back-pressure allows
  double commands_per_s = 0;
  double commands_per_commit = 0;
  LatencyHistogram latency;  // submit -> durable acknowledgement, ns
};

// Submits every command of the workload (set-up first) and waits for the last
// acknowledgement. With `rate` > 0 submissions are paced open-loop and latency
// counts from the planned submit time (so the generator's own oversleeping,
// tens of microseconds, is charged to the pipeline, never hidden).
RunResult run(const std::string& name, const gpux::bench::Workload& w, const Options& o,
              double rate) {
  std::filesystem::remove_all(o.directory);
  PipelineOptions options;
  options.data_directory = o.directory;
  options.snapshot_every = 0;
  // As a leader's pipeline replicates (gpuxd's cluster_node.cpp, without its
  // retries): one entry per group commit, fenced by the last one.
  std::unique_ptr<gpux::replication::Log> log;
  std::uint64_t last_appended = 0;
  if (!o.cluster.empty()) {
    static int stream = 0;
    log = gpux::replication::Log::open(
        {.servers = o.cluster,
         .stream = "BENCH-" + std::to_string(::getpid()) + "-" + std::to_string(++stream),
         .replicas = 3,
         .timeout_ms = 5000,
         .node = "bench"});
    options.replicate = [&](std::span<const Command> commands, std::span<const std::string> origins,
                            std::uint64_t chain_before, std::optional<std::uint64_t> state_hash) {
      last_appended = log->append(gpux::replication::leader_entry(commands, origins, chain_before,
                                                                  "bench", state_hash),
                                  last_appended)
                          .stream_sequence;
    };
  }
  Pipeline pipeline(options);
  RunResult result{name, rate, 0, 0, {}};
  const std::size_t total = w.setup.size() + w.measured.size();
  std::vector<Clock::time_point> submitted(total);
  std::atomic<std::size_t> acknowledged{0};
  const auto done = [&](const Command& c, std::span<const Event>) {
    result.latency.record(static_cast<std::uint64_t>(
        (Clock::now() - submitted[c.stamp.sequence - 1]).count()));  // publisher thread only
    acknowledged.fetch_add(1, std::memory_order_release);
  };
  const auto start = Clock::now();
  const double interval = rate > 0 ? 1e9 / rate : 0;
  for (std::size_t i = 0; i < total; ++i) {
    const Command& c = i < w.setup.size() ? w.setup[i] : w.measured[i - w.setup.size()];
    if (rate > 0) {
      const auto planned =
          start + std::chrono::nanoseconds(static_cast<std::int64_t>(i * interval));
      // Sleep rather than spin: on two cores a spinning load generator takes
      // one of them from the pipeline. Commands whose time passed during a
      // sleep go out together, each still timed from its planned moment.
      if (Clock::now() < planned) std::this_thread::sleep_until(planned);
      submitted[i] = planned;
    } else {
      submitted[i] = Clock::now();
    }
    pipeline.submit(c.body, done);
  }
  pipeline.stop();  // drains: every acknowledgement has been delivered
  const std::chrono::duration<double> took = Clock::now() - start;
  result.commands_per_s = static_cast<double>(acknowledged.load()) / took.count();
  result.commands_per_commit = static_cast<double>(pipeline.stats().commands) /
                               static_cast<double>(pipeline.stats().group_commits);
  return result;
}

struct RecoveryResult {
  std::string name;
  std::size_t journaled = 0;
  std::size_t replayed = 0;
  double seconds = 0;
};

double time_recovery(const Options& o, std::size_t& replayed) {
  PipelineOptions options;
  options.data_directory = o.directory;
  options.snapshot_every = 0;
  const auto start = Clock::now();
  Pipeline pipeline(options);
  const std::chrono::duration<double> took = Clock::now() - start;
  replayed = pipeline.recovery().replayed;
  return took.count();  // the destructor's stop() snapshots, for the next measurement
}

std::vector<RecoveryResult> recovery(const gpux::bench::Workload& w, const Options& o) {
  std::filesystem::remove_all(o.directory);
  {
    PipelineOptions options;
    options.data_directory = o.directory;
    options.snapshot_every = 0;
    options.snapshot_on_stop = false;
    Pipeline pipeline(options);
    std::size_t n = 0;
    for (const Command& c : w.setup)
      pipeline.submit(c.body, {}), ++n;
    for (const Command& c : w.measured) {
      pipeline.submit(c.body, {});
      if (++n % 1'000'000 == 0) {
        std::printf("    journaled %zuM commands\n", n / 1'000'000);
        std::fflush(stdout);
      }
    }
    pipeline.stop();
  }
  const std::size_t journaled = w.setup.size() + w.measured.size();
  std::vector<RecoveryResult> results;
  std::size_t replayed = 0;
  double seconds = time_recovery(o, replayed);
  results.push_back({"no snapshot: replay everything", journaled, replayed, seconds});
  seconds = time_recovery(o, replayed);
  results.push_back({"snapshot at the last command", journaled, replayed, seconds});
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  parse(argc, argv, o);
  std::printf("gpux journal benchmark (%s): data in %s%s%s\n", o.quick ? "quick" : "full",
              o.directory.c_str(), o.cluster.empty() ? "" : ", replicated to ", o.cluster.c_str());
  std::fflush(stdout);

  const auto workload = gpux::bench::exchange_core_mix(o.commands, 7);
  std::vector<RunResult> runs;
  std::printf("  throughput, as fast as back-pressure allows, %d runs ...\n", o.runs);
  std::fflush(stdout);
  std::vector<RunResult> saturated;
  for (int r = 0; r < o.runs; ++r)
    saturated.push_back(run("saturated", workload, o, 0));
  std::sort(saturated.begin(), saturated.end(), [](const RunResult& a, const RunResult& b) {
    return a.commands_per_s < b.commands_per_s;
  });
  runs.push_back(saturated[saturated.size() / 2]);  // the median run
  for (double rate : o.paced_rates) {
    std::printf("  latency at %.0fk/s offered ...\n", rate / 1e3);
    std::fflush(stdout);
    runs.push_back(run("paced", workload, o, rate));
  }

  if (o.cluster.empty())
    std::printf("  recovery of %zu journaled commands ...\n", o.recovery_commands);
  std::fflush(stdout);
  // Recovery reads the local journal alone: the same in a cluster.
  const auto recovery_workload = gpux::bench::exchange_core_mix(o.recovery_commands, 8);
  const auto recoveries =
      o.cluster.empty() ? recovery(recovery_workload, o) : std::vector<RecoveryResult>{};
  std::filesystem::remove_all(o.directory);

  std::printf(
      "\nDurable pipeline: sequencer -> engine -> RocksDB journal (fsync group commit) -> "
      "publisher; workload a (exchange-core mix)\n");
  std::printf("%-10s %9s %12s %10s %10s %10s %10s\n", "run", "offered", "durable/s", "per fsync",
              "p50 us", "p99 us", "max us");
  for (const RunResult& r : runs)
    std::printf("%-10s %8.0fk %11.0fk %10.0f %10.1f %10.1f %10.1f\n", r.name.c_str(),
                r.offered / 1e3, r.commands_per_s / 1e3, r.commands_per_commit,
                static_cast<double>(r.latency.percentile(0.5)) / 1e3,
                static_cast<double>(r.latency.percentile(0.99)) / 1e3,
                static_cast<double>(r.latency.max()) / 1e3);
  std::printf(
      "(offered 0k: as fast as back-pressure allows; latency from submit to durable "
      "acknowledgement)\n\nRecovery\n");
  for (const RecoveryResult& r : recoveries)
    std::printf("%-32s %10zu journaled %10zu replayed %8.2f s\n", r.name.c_str(), r.journaled,
                r.replayed, r.seconds);

  std::ofstream json(o.json_path);
  json << "{\n  \"mode\": \"" << (o.quick ? "quick" : "full") << "\",\n  \"runs\": [\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = runs[i];
    json << "    {\"run\": \"" << r.name << "\", \"offered_per_s\": " << r.offered
         << ", \"durable_commands_per_s\": " << r.commands_per_s
         << ", \"commands_per_group_commit\": " << r.commands_per_commit
         << ", \"ack_latency_ns\": {\"p50\": " << r.latency.percentile(0.5)
         << ", \"p99\": " << r.latency.percentile(0.99) << ", \"max\": " << r.latency.max() << "}}"
         << (i + 1 < runs.size() ? ",\n" : "\n");
  }
  json << "  ],\n  \"recovery\": [\n";
  for (std::size_t i = 0; i < recoveries.size(); ++i) {
    const RecoveryResult& r = recoveries[i];
    json << "    {\"case\": \"" << r.name << "\", \"journaled\": " << r.journaled
         << ", \"replayed\": " << r.replayed << ", \"seconds\": " << r.seconds << "}"
         << (i + 1 < recoveries.size() ? ",\n" : "\n");
  }
  json << "  ]\n}\n";
  if (!json) {
    std::fprintf(stderr, "could not write %s\n", o.json_path.c_str());
    return 1;
  }
  std::printf("\nwrote %s\n", o.json_path.c_str());
  return 0;
}
