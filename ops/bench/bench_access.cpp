// Access-check benchmark: what the exchange pays, per obligation and round,
// to check a delivery's SSH endpoint (gpux::provider::check_access: a TCP
// connect, then ssh-keyscan, comparing the host key's fingerprint). Opens K
// real deliveries with DeliveryHost (one sshd each, on loopback), then in
// every run checks all K endpoints one after another, as a round does on its
// provider's connection thread; the in-run baseline is a plain TCP connect
// and close to the same endpoints (a check without the SSH key exchange).
// Wall latency per check, and CPU per check of this process and its waited-
// for children (ssh-keyscan): getrusage RUSAGE_SELF + RUSAGE_CHILDREN. The
// provider's sshd runs on the same machine and its CPU is not counted.
// Prints a table and writes JSON; exits 1 when any check failed. Every
// delivery is revoked at the end, also after an error or SIGINT/SIGTERM.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "arguments.h"
#include "gpux/delivery/delivery_host.h"
#include "gpux/provider/ssh_access.h"

namespace {

namespace fs = std::filesystem;
using gpux::delivery::DeliveryHost;
using gpux::delivery::Endpoint;
using gpux::delivery::Grant;
using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t deliveries = 8;
  int runs = 5;
  std::int64_t timeout_ms = 5'000;  // delivery_access_check_ms's default
  fs::path supervisor;              // empty: beside this executable
  std::string json_path = "bench-access.json";
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [--deliveries K] [--runs N] [--timeout-ms MS] [--supervisor PATH] [--json PATH]\n"
      "  --deliveries K     deliveries opened (one sshd each on 127.0.0.1) and checked in every\n"
      "                     run, one after another (default 8)\n"
      "  --runs N           runs over all K endpoints; medians over runs (default 5)\n"
      "  --timeout-ms MS    each check's timeout, as delivery_access_check_ms (default 5000)\n"
      "  --supervisor PATH  gpux-delivery-supervisor (default: beside this executable)\n"
      "  --json PATH        where to write results (default bench-access.json)\n",
      argv0);
}

void parse(int argc, char** argv, Options& o) {
  gpux::bench::Arguments args(argc, argv, usage);
  while (args.next()) {
    if (args.is("--deliveries")) {
      o.deliveries = args.count(1);
    } else if (args.is("--runs")) {
      o.runs = static_cast<int>(args.count(1));
    } else if (args.is("--timeout-ms")) {
      o.timeout_ms = static_cast<std::int64_t>(args.count(100));
    } else if (args.is("--supervisor")) {
      o.supervisor = args.value();
    } else if (args.is("--json")) {
      o.json_path = args.value();
    } else {
      args.unknown();
    }
  }
}

volatile std::sig_atomic_t interrupted = 0;
void on_signal(int) {
  interrupted = 1;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// CPU seconds of this process and its waited-for children so far.
double cpu_seconds() {
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  rusage self{}, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  return seconds(self.ru_utime) + seconds(self.ru_stime) + seconds(children.ru_utime) +
         seconds(children.ru_stime);
}

// A fresh directory under the system temp dir, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "gpux-bench-access-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The buyer's public key line: a fresh ed25519 key made with ssh-keygen.
std::string make_buyer_key(const fs::path& dir) {
  const fs::path file = dir / "buyer";
  const std::string command =
      "ssh-keygen -q -t ed25519 -N '' -C buyer -f '" + file.string() + "' </dev/null >/dev/null";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("ssh-keygen failed");
  std::ifstream in(file.string() + ".pub");
  std::string line;
  if (!std::getline(in, line) || line.empty())
    throw std::runtime_error("no public key in " + file.string() + ".pub");
  return line;
}

// Opens deliveries and revokes every one it opened when it goes, however
// the benchmark ends (the grants' end bounds what a killed run leaves).
class Deliveries {
 public:
  explicit Deliveries(DeliveryHost& host) : host_(host) {}
  ~Deliveries() {
    std::size_t revoked = 0;
    for (const std::uint64_t trade : trades_) {
      try {
        if (host_.revoke(trade).was_open) ++revoked;
      } catch (const std::exception& error) {
        std::fprintf(stderr, "revoking trade %llu: %s\n", static_cast<unsigned long long>(trade),
                     error.what());
      }
    }
    if (!trades_.empty()) std::printf("revoked %zu deliveries\n", revoked);
  }
  Deliveries(const Deliveries&) = delete;
  Deliveries& operator=(const Deliveries&) = delete;

  Endpoint open(const Grant& grant) {
    trades_.push_back(grant.trade);  // before open: a half-opened delivery is revoked too
    return host_.open(grant);
  }

 private:
  DeliveryHost& host_;
  std::vector<std::uint64_t> trades_;
};

// The baseline: a TCP connect and close, the first step of check_access
// (same name lookup, non-blocking connect bounded by the timeout).
gpux::provider::AccessCheck tcp_connect(const Endpoint& at, std::chrono::milliseconds timeout) {
  std::string why = gpux::provider::tcp_reachable(at.host, at.port, timeout);
  return {why.empty(), std::move(why)};
}

gpux::provider::AccessCheck access_check(const Endpoint& at, std::chrono::milliseconds timeout) {
  return gpux::provider::check_access(at.host, at.port, at.host_key_fingerprint, timeout);
}

using Check = gpux::provider::AccessCheck (*)(const Endpoint&, std::chrono::milliseconds);

struct Method {
  const char* name;
  const char* what;
  Check check;
  std::vector<double> latencies_ms;  // every check of every run
  std::vector<double> round_ms;      // per run: all K checks, one after another
  std::vector<double> cpu_ms;        // per run: CPU (self + children) per check
  std::size_t failed = 0;
  std::string first_failure;
};

// One run: every endpoint checked once, one after another.
void run(Method& m, const std::vector<Endpoint>& endpoints, std::chrono::milliseconds timeout) {
  const double cpu_before = cpu_seconds();
  const auto start = Clock::now();
  for (const Endpoint& at : endpoints) {
    if (interrupted) return;
    const auto before = Clock::now();
    const gpux::provider::AccessCheck result = m.check(at, timeout);
    m.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - before).count());
    if (!result.passed && m.failed++ == 0) m.first_failure = result.detail;
  }
  const std::chrono::duration<double, std::milli> took = Clock::now() - start;
  m.round_ms.push_back(took.count());
  m.cpu_ms.push_back((cpu_seconds() - cpu_before) * 1e3 / static_cast<double>(endpoints.size()));
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest rank.
double percentile(std::vector<double> v, double fraction) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(v.size()) + 0.999999);
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

struct Summary {
  double p50 = 0, p99 = 0, max = 0, round = 0, cpu = 0;
  double per_core_s() const { return cpu > 0 ? 1e3 / cpu : 0; }  // checks per CPU second
};

Summary summarize(const Method& m) {
  return {percentile(m.latencies_ms, 0.5), percentile(m.latencies_ms, 0.99),
          percentile(m.latencies_ms, 1.0), median(m.round_ms), median(m.cpu_ms)};
}

int benchmark(const Options& o) {
  const ScratchDir scratch;
  DeliveryHost::Options host_options;
  host_options.root = scratch.path() / "deliveries";
  host_options.supervisor = o.supervisor;
  DeliveryHost host(host_options);
  const std::string buyer = make_buyer_key(scratch.path());

  std::printf("gpux access-check benchmark: %zu deliveries in %s, %d runs\n", o.deliveries,
              host_options.root.c_str(), o.runs);
  std::fflush(stdout);
  Deliveries deliveries(host);
  std::vector<Endpoint> endpoints;
  const auto opening = Clock::now();
  // Each grant lasts an hour: a run killed outright leaves no sshd longer.
  const std::int64_t end = unix_now() + 3600;
  for (std::size_t i = 0; i < o.deliveries && !interrupted; ++i)
    endpoints.push_back(
        deliveries.open(Grant{1000 + i, {buyer}, {static_cast<std::uint32_t>(i % 8)}, end}));
  const std::chrono::duration<double> opened = Clock::now() - opening;
  std::printf("  opened %zu deliveries in %.2f s\n", endpoints.size(), opened.count());
  std::fflush(stdout);

  const std::chrono::milliseconds timeout(o.timeout_ms);
  std::vector<Method> methods;
  methods.push_back(
      {"tcp connect", "TCP connect + close (baseline)", tcp_connect, {}, {}, {}, 0, {}});
  methods.push_back(
      {"check_access", "TCP connect, ssh-keyscan, fingerprint", access_check, {}, {}, {}, 0, {}});
  for (int r = 0; r < o.runs && !interrupted; ++r) {
    // Alternate which goes first, so neither always follows the other's load.
    for (std::size_t k = 0; k < methods.size(); ++k)
      run(methods[(k + static_cast<std::size_t>(r)) % methods.size()], endpoints, timeout);
    std::printf("  run %d/%d done\n", r + 1, o.runs);
    std::fflush(stdout);
  }
  if (interrupted) {
    std::fprintf(stderr, "interrupted: revoking the deliveries\n");
    return 130;
  }

  std::printf(
      "\nAccess checks of %zu delivery endpoints (one sshd each on 127.0.0.1), one after another;"
      "\n%d runs; latency over all %zu checks, round and CPU the median run's\n",
      endpoints.size(), o.runs, endpoints.size() * static_cast<std::size_t>(o.runs));
  std::printf("%-13s %9s %9s %9s %11s %12s %13s %8s\n", "method", "p50 ms", "p99 ms", "max ms",
              "round ms", "CPU ms/chk", "chk/CPU-s", "failed");
  std::vector<Summary> summaries;
  for (const Method& m : methods) {
    const Summary s = summarize(m);
    summaries.push_back(s);
    std::printf("%-13s %9.3f %9.3f %9.3f %11.2f %12.3f %13.0f %8zu\n", m.name, s.p50, s.p99, s.max,
                s.round, s.cpu, s.per_core_s(), m.failed);
  }
  const Summary& base = summaries[0];
  const Summary& check = summaries[1];
  std::printf(
      "(round: all %zu checks one after another; CPU: this process + its children, ssh-keyscan;\n"
      " sshd's own CPU not counted)\ncheck_access - baseline: %.3f ms wall (p50), %.3f ms CPU "
      "per check\n",
      endpoints.size(), check.p50 - base.p50, check.cpu - base.cpu);
  bool failed = false;
  for (const Method& m : methods)
    if (m.failed > 0) {
      failed = true;
      std::fprintf(stderr, "%s: %zu checks failed; first: %s\n", m.name, m.failed,
                   m.first_failure.c_str());
    }

  std::ofstream json(o.json_path);
  json << "{\n  \"deliveries\": " << endpoints.size() << ",\n  \"runs\": " << o.runs
       << ",\n  \"timeout_ms\": " << o.timeout_ms << ",\n  \"methods\": [\n";
  for (std::size_t i = 0; i < methods.size(); ++i) {
    const Summary& s = summaries[i];
    json << "    {\"method\": \"" << methods[i].name << "\", \"what\": \"" << methods[i].what
         << "\", \"checks\": " << methods[i].latencies_ms.size()
         << ", \"failed\": " << methods[i].failed << ", \"latency_ms\": {\"p50\": " << s.p50
         << ", \"p99\": " << s.p99 << ", \"max\": " << s.max
         << "}, \"round_ms_median\": " << s.round << ", \"cpu_ms_per_check_median\": " << s.cpu
         << ", \"checks_per_cpu_second\": " << s.per_core_s() << "}"
         << (i + 1 < methods.size() ? ",\n" : "\n");
  }
  json << "  ]\n}\n";
  if (!json) {
    std::fprintf(stderr, "could not write %s\n", o.json_path.c_str());
    return 1;
  }
  std::printf("\nwrote %s\n", o.json_path.c_str());
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  parse(argc, argv, o);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    return benchmark(o);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "gpux-bench-access: %s\n", error.what());
    return 1;
  }
}
