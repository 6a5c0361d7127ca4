// gpuxd at its edges, as an unlucky operator meets them: a journal that fails
// under FIX (gpuxd must stop with the cause named, leave no client waiting,
// and recover afterwards without losing an acknowledged order), the
// permissions of what it writes, and settings that lose data.
//
// The journal failure is a real one from the kernel's interface: an
// LD_PRELOAD shim (support/fault_shim.cpp) makes fsync and fdatasync
// return EIO, or writes ENOSPC, from a moment the test chooses.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "eventually.h"
#include "journal_view.h"
#include "local_daemon.h"
#include "raw_fix.h"
#include "run_command.h"
#include "temp_dir.h"

namespace {

constexpr const char* kSymbol = "H100-SXM.us-east.21000101T00";

// What the fault shim does to the gpuxd started next; nothing by default.
struct Faults {
  bool fail_sync = false;  // every fsync fails once Exchange::flag() exists
  // Writes to the files in it fail (ENOSPC) once flag() exists; none when empty.
  std::filesystem::path full_disk_in;
  bool audit_fix_state = false;  // audit_log() notes whether each FIX message sent was fsynced
};

struct Exchange {
  explicit Exchange(const std::string& extra_config = {}) : fix_port(gpux::local::free_port()) {
    std::ofstream(dir.path() / "gpuxd.conf")
        << extra_config << "data_dir = " << data().string() << "\n"
        << "fix_port = " << fix_port << "\n"
        << "fix_client = TRADER participant=1 password=none\n"
        << "participant = 1 cash=1000000000000\n"
        // Delivery in 2100: open for the whole test.
        << "instrument = 1 symbol=" << kSymbol
        << " class=H100-SXM region=us-east start=4102444800 tick=1000 max=100 "
           "reference=2000000 band=1000000\n";
  }
  ~Exchange() {
    if (pid > 0) gpux::local::stop_daemon(pid, SIGKILL);
  }

  std::filesystem::path data() const { return dir.path() / "data"; }
  std::filesystem::path flag() const { return dir.path() / "fail-sync-now"; }

  // Started, and listening for FIX.
  void start() { start(Faults()); }
  void start(const Faults& faults) {
    spawn(faults);
    REQUIRE_MESSAGE(gpux::local::wait_for_listener(fix_port), log());
  }

  void spawn(const Faults& faults) {
    const bool disk_full = !faults.full_disk_in.empty();
    const bool shim = faults.fail_sync || disk_full || faults.audit_fix_state;
    const std::vector<std::pair<const char*, std::string>> environment = {
        {"LD_PRELOAD", shim ? GPUX_FAULT_SHIM : ""},
        // The sanitizers' runtime expects to be loaded first; the shim is not instrumented.
        {"ASAN_OPTIONS", shim ? "verify_asan_link_order=0" : ""},
        {"GPUX_FAIL_SYNC_WHEN", faults.fail_sync ? flag().string() : ""},
        {"GPUX_FAIL_WRITE_WHEN", disk_full ? flag().string() : ""},
        {"GPUX_FAIL_WRITE_IN", faults.full_disk_in.string()},
        {"GPUX_SYNC_AUDIT", faults.audit_fix_state ? "/fix-state/" : ""},
        {"GPUX_SYNC_AUDIT_LOG", faults.audit_fix_state ? audit_log().string() : ""},
    };
    for (const auto& [name, value] : environment)
      if (!value.empty()) ::setenv(name, value.c_str(), 1);
    pid = gpux::local::spawn_daemon(GPUXD_PATH, (dir.path() / "gpuxd.conf").string(),
                                    (dir.path() / "gpuxd.log").string());
    for (const auto& [name, value] : environment)
      ::unsetenv(name);
    REQUIRE(pid > 0);
  }

  std::filesystem::path audit_log() const { return dir.path() / "sync-audit"; }

  // gpux trade COMMAND on the TRADER seat.
  gpux::test::CommandResult trade(const std::string& command) const {
    return gpux::test::run_command(std::string(GPUX_PATH) + " trade " + state_dir() + " --port " +
                                   std::to_string(fix_port) + " --sender TRADER --dictionary " +
                                   GPUX_FIX_DICTIONARY + " --timeout 20 " + command);
  }
  // The CLI keeps its sessions' state here, not in the user's home: a test
  // starts from none, and leaves none behind.
  std::string state_dir() const { return "--state-dir " + (dir.path() / "trade-state").string(); }

  // The exit status of a gpuxd that stops by itself within `seconds`; -1 if it does not.
  int exit_status_within(int seconds) {
    for (int i = 0; i < seconds * 20; ++i) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

  std::string log() const {
    std::ifstream in(dir.path() / "gpuxd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  gpux::test::TempDir dir;
  int fix_port;
  pid_t pid = -1;
};

}  // namespace

TEST_CASE("the journal fails under FIX: gpuxd stops with its cause; no acknowledged order lost") {
  Exchange exchange;
  Faults faults;
  std::string cause;
  std::string failed;  // what gpuxd names as failed
  SUBCASE("an fsync fails") {
    faults.fail_sync = true;
    cause = "Input/output error";
    failed = "the FIX session store in " + (exchange.data() / "fix-state").string();
  }
  SUBCASE("the journal's disk is full") {
    faults.full_disk_in = exchange.data();
    cause = "No space left on device";
    failed = "the journal in " + exchange.data().string();
  }
  SUBCASE("the session store's disk is full") {
    faults.full_disk_in = exchange.data() / "fix-state";
    cause = "No space left on device";
    failed = "the FIX session store in " + (exchange.data() / "fix-state").string();
  }
  exchange.start(faults);
  for (const char* id : {"A1", "A2", "A3"}) {
    const auto placed =
        exchange.trade(std::string("place buy ") + kSymbol + " 1 2.0" + " --id " + id);
    REQUIRE_MESSAGE(placed.status == 0, placed.output);
  }

  std::ofstream(exchange.flag()) << "now\n";
  // The next commit fails: this order is never acknowledged, and its client
  // is not left waiting for the answer (disconnected, or no answer at all
  // would make it wait out its 20 s timeout and exit 4).
  const auto started = std::chrono::steady_clock::now();
  const auto lost = exchange.trade(std::string("place buy ") + kSymbol + " 1 2.0 --id B1");
  CAPTURE(lost.output);
  CHECK(lost.status == 3);  // the session ended before an answer
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(15));

  // gpuxd stops by itself, exit status 1 (not an abort), with one line that
  // names the cause and what failed.
  REQUIRE(exchange.exit_status_within(30) == 1);
  const std::string log = exchange.log();
  CAPTURE(log);
  const auto fatal = log.find("gpuxd: FATAL: ");
  REQUIRE(fatal != std::string::npos);
  CHECK(log.find("FATAL", fatal + 8) == std::string::npos);
  const std::string line = log.substr(fatal, log.find('\n', fatal) - fatal);
  CHECK(line.find(failed + " failed") != std::string::npos);
  CHECK(line.find(cause) != std::string::npos);

  if (!faults.full_disk_in.empty()) {
    // Started again while the disk is still full: a clear message, exit 1.
    exchange.spawn(faults);
    CHECK(exchange.exit_status_within(30) == 1);
    const std::string restart_log = exchange.log().substr(log.size());
    CAPTURE(restart_log);
    CHECK(restart_log.find(cause) != std::string::npos);
  }

  // Without the fault: every acknowledged order is there, and the audit reconciles.
  std::filesystem::remove(exchange.flag());
  exchange.start();
  for (const char* id : {"A1", "A2", "A3"}) {
    const auto status = exchange.trade(std::string("status ") + id);
    CAPTURE(status.output);
    CHECK(status.status == 0);
    CHECK(status.output.find("new") != std::string::npos);
  }
  CHECK(exchange.trade("status B1").output.find("unknown order") != std::string::npos);
  CHECK(gpux::local::stop_daemon(exchange.pid, SIGTERM) == 0);
  exchange.pid = -1;
  const auto audit = gpux::test::run_command(std::string(GPUX_PATH) + " audit --data-dir " +
                                             exchange.data().string());
  CAPTURE(audit.output);
  CHECK(audit.status == 0);
}

namespace {

// SendingTime and TransactTime: QuickFIX refuses a Logon whose SendingTime
// is far from its clock.
std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H:%M:%S", &tm);
  return text;
}

// What LoadSessions add to their shared progress count: one per order
// acknowledged, kEnded when one ends.
constexpr long kEnded = 1'000'000;

// A FIX session that places orders one after another until its connection
// ends, noting which were acknowledged (ExecType New) and whether it was
// ever left waiting 20 s for an answer.
struct LoadSession {
  std::string seat;
  std::vector<std::string> acknowledged;
  bool left_waiting = false;

  void run(int port, std::atomic<long>& progress) {
    const int fd = gpux::local::connect_to(port);
    if (fd < 0) return;
    int sequence = 1;
    std::string buffer;
    const auto send = [&](const std::string& type, const std::string& body) {
      const std::string bytes =
          gpux::local::fix_frame(type, seat, "GPUX", sequence++, utc_now(), body);
      return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
             static_cast<ssize_t>(bytes.size());
    };
    // The next message, "" once the connection ended; left_waiting after 20 s.
    const auto next = [&]() -> std::string {
      for (;;) {
        if (std::string m = gpux::local::take_fix_message(buffer); !m.empty()) return m;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20'000) != 1) {
          left_waiting = true;
          return {};
        }
        char chunk[4096];
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return {};
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
    };
    if (send("A",
             "98=0\x01"
             "108=30\x01") &&
        gpux::local::fix_value(next(), "35") == "A") {
      for (int i = 0;; ++i) {
        const std::string id = seat + "-" + std::to_string(i);
        if (!send("D", "11=" + id + "\x01" + "55=" + kSymbol + "\x01" + "54=1\x01" +
                           "60=" + utc_now() + "\x01" + "38=1\x01" + "40=2\x01" + "44=2.0\x01"))
          break;
        std::string m;
        while (!(m = next()).empty() && gpux::local::fix_value(m, "11") != id) {
        }
        if (m.empty()) break;  // the connection ended (or left us waiting)
        if (gpux::local::fix_value(m, "150") == "0") {
          acknowledged.push_back(id);
          ++progress;
          progress.notify_all();
        }
      }
    }
    ::close(fd);
    // One that ended before the fault must not leave the test waiting.
    progress += kEnded;
    progress.notify_all();
  }
};

}  // namespace

TEST_CASE("under FIX load, a failing disk loses no acknowledged order and leaves none waiting") {
  Exchange exchange(
      "fix_client = L0 participant=1 password=none\nfix_client = L1 participant=1 password=none\n"
      "fix_client = L2 participant=1 password=none\nfix_client = L3 participant=1 password=none\n");
  Faults faults;
  SUBCASE("fsync fails") {
    faults.fail_sync = true;
  }
  SUBCASE("the journal's disk is full") {
    faults.full_disk_in = exchange.data();
  }
  exchange.start(faults);
  std::vector<LoadSession> sessions(4);
  std::atomic<long> progress{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    sessions[i].seat = "L";  // + on a literal trips GCC 12 -O3 -Wrestrict
    sessions[i].seat += std::to_string(i);
    threads.emplace_back([&, i] { sessions[i].run(exchange.fix_port, progress); });
  }
  // Mid-stream: the disk fails once 200 orders have been acknowledged.
  for (long seen = progress; seen < 200; seen = progress)
    progress.wait(seen);
  std::ofstream(exchange.flag()) << "now\n";
  for (auto& t : threads)
    t.join();
  for (const LoadSession& s : sessions) {
    CAPTURE(s.seat);
    CHECK(!s.left_waiting);  // every session ended promptly: answered or disconnected
  }
  const int exit_status = exchange.exit_status_within(30);
  const std::string log = exchange.log();
  CAPTURE(log);
  REQUIRE(exit_status == 1);
  const auto fatal = log.find("gpuxd: FATAL: ");
  CHECK(fatal != std::string::npos);
  CHECK(log.find("FATAL", fatal + 8) == std::string::npos);

  // Every acknowledged order is in the journal, and the audit reconciles.
  std::set<std::string> journaled;
  for (const auto& order : gpux::test::journaled_orders(exchange.data().string()))
    journaled.insert(order.cl_ord_id);
  long acknowledged = 0;
  for (const LoadSession& s : sessions)
    for (const std::string& id : s.acknowledged) {
      CAPTURE(id);
      CHECK(journaled.count(id) == 1);
      ++acknowledged;
    }
  CHECK(acknowledged >= 200);  // the failure came mid-stream, not before
  const auto audit = gpux::test::run_command(std::string(GPUX_PATH) + " audit --data-dir " +
                                             exchange.data().string());
  CAPTURE(audit.output);
  CHECK(audit.status == 0);
}

TEST_CASE("every FIX message gpuxd sends is fsynced in its session store first") {
  // A power loss must not lose a message a client has seen: the session
  // would number its next one the same, and the client would refuse it.
  Exchange exchange;
  Faults audit;
  audit.audit_fix_state = true;
  exchange.start(audit);
  for (const char* id : {"A1", "A2", "A3"})
    REQUIRE(exchange.trade(std::string("place buy ") + kSymbol + " 1 2.0 --id " + id).status == 0);
  CHECK(gpux::local::stop_daemon(exchange.pid, SIGTERM) == 0);
  exchange.pid = -1;
  std::ifstream in(exchange.audit_log());
  int synced = 0;
  int unsynced = 0;
  for (std::string line; std::getline(in, line);)
    (line == "synced" ? synced : unsynced) += 1;
  // Each of three sessions: Logon, ExecutionReport, Logout.
  CHECK(synced >= 9);
  CHECK(unsynced == 0);
}

TEST_CASE("gpux trade says why it has no session: host, port, seat or password") {
  const auto hashed = gpux::test::run_command("printf '%s' 'seat-secret' | " +
                                              std::string(GPUXD_PATH) + " --hash-password");
  REQUIRE(hashed.status == 0);
  const std::string hash = hashed.output.substr(0, hashed.output.find('\n'));
  Exchange exchange("fix_client = LOCKED participant=1 password_hash=" + hash + "\n");
  exchange.start();
  const auto trade_as = [&](const std::string& where, const std::string& sender) {
    return gpux::test::run_command(std::string(GPUX_PATH) + " trade " + exchange.state_dir() + " " +
                                   where + " --sender " + sender + " --dictionary " +
                                   GPUX_FIX_DICTIONARY + " --timeout 10 status X1");
  };
  const std::string here = "--port " + std::to_string(exchange.fix_port);
  const struct {
    std::string where, sender, says;
  } cases[] = {
      {"--host no-such-host.invalid " + here, "TRADER",
       "cannot resolve host 'no-such-host.invalid'"},
      {"--port " + std::to_string(gpux::local::free_port()), "TRADER",
       "nothing listens on 127.0.0.1:"},
      {here, "NOBODY", "is NOBODY a seat there (fix_client)"},
      {here, "LOCKED",
       "a password is required for LOCKED: Password(554) on the Logon (give it with "
       "--password-env VAR)"},
  };
  for (const auto& c : cases) {
    const auto result = trade_as(c.where, c.sender);
    CAPTURE(result.output);
    CHECK(result.status == 3);
    CHECK(result.output.find(c.says) != std::string::npos);
  }
  // With the password it logs on (the status of an order it never placed).
  ::setenv("SEAT_SECRET", "seat-secret", 1);
  const auto right =
      gpux::test::run_command(std::string(GPUX_PATH) + " trade " + exchange.state_dir() + " " +
                              here + " --sender LOCKED --password-env SEAT_SECRET" +
                              " --dictionary " + GPUX_FIX_DICTIONARY + " --timeout 10 status X1");
  ::unsetenv("SEAT_SECRET");
  CAPTURE(right.output);
  CHECK(right.output.find("no FIX session") == std::string::npos);
}

TEST_CASE("gpux report and gpux audit read the journal of a running gpuxd; trading goes on") {
  Exchange exchange;
  exchange.start();
  REQUIRE(exchange.trade(std::string("place buy ") + kSymbol + " 1 2.0 --id R1").status == 0);
  const auto run = [&](const std::string& command) {
    return gpux::test::run_command(std::string(GPUX_PATH) + " " + command + " --data-dir " +
                                   exchange.data().string() + " --config " +
                                   (exchange.dir.path() / "gpuxd.conf").string());
  };
  const std::string out = (exchange.dir.path() / "reports").string();
  const auto report = run("report --out " + out);
  CAPTURE(report.output);
  REQUIRE(report.status == 0);
  CHECK(report.output.find("gpuxd is running on " + exchange.data().string() +
                           ": reading its journal as it stands") != std::string::npos);
  // The seeded cash is the participant's deposit, on its statement.
  bool stated = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(out)) {
    if (entry.path().filename() != "statement_summary.csv" ||
        entry.path().parent_path().filename() != "participant-1")
      continue;
    std::ifstream in(entry.path());
    const std::string summary((std::istreambuf_iterator<char>(in)), {});
    CHECK(summary.find("\nreconciles,yes\n") != std::string::npos);
    CHECK(summary.find("\ncredits_usd,1000000.000000\n") != std::string::npos);
    stated = true;
  }
  CHECK(stated);
  const auto audit = run("audit");
  CHECK_MESSAGE(audit.status == 0, audit.output);
  // gpuxd noticed nothing: it still trades.
  CHECK(exchange.trade(std::string("place buy ") + kSymbol + " 1 2.0 --id R2").status == 0);
  CHECK(exchange.exit_status_within(0) == -1);
  const auto again = run("audit");
  CHECK_MESSAGE(again.status == 0, again.output);
  CHECK(again.output.find("through command") != std::string::npos);
}

// Another machine, as far as the network goes: a network namespace joined
// to this one by a veth pair, 10.231.X.1 here and 10.231.X.2 there. Empty
// `why` when it was made; otherwise why not (no privilege to make one).
struct OtherMachine {
  OtherMachine() {
    const int x = static_cast<int>(::getpid() % 250) + 1;
    name = "gpux-far-" + std::to_string(::getpid());
    const std::string here_link = "gpxh" + std::to_string(::getpid() % 100000);
    const std::string there_link = "gpxt" + std::to_string(::getpid() % 100000);
    here = "10.231." + std::to_string(x) + ".1";
    there = "10.231." + std::to_string(x) + ".2";
    for (const std::string& step :
         {"ip netns add " + name, "ip link add " + here_link + " type veth peer name " + there_link,
          "ip link set " + there_link + " netns " + name,
          "ip addr add " + here + "/30 dev " + here_link, "ip link set " + here_link + " up",
          "ip netns exec " + name + " ip addr add " + there + "/30 dev " + there_link,
          "ip netns exec " + name + " ip link set " + there_link + " up",
          "ip netns exec " + name + " ip link set lo up"}) {
      const auto result = gpux::test::run_command(step + " 2>&1");
      if (result.status != 0) {
        why = step + ": " + result.output;
        return;
      }
      made = true;
    }
  }
  ~OtherMachine() {
    // Deleting the namespace deletes the veth pair with it.
    if (made) gpux::test::run_command("ip netns del " + name + " 2>&1");
  }
  // `command` run over there.
  std::string run(const std::string& command) const {
    return "ip netns exec " + name + " " + command;
  }
  std::string name, here, there, why;
  bool made = false;
};

TEST_CASE("bound to an interface's address, gpuxd serves FIX and providers on another machine") {
  OtherMachine far;
  if (!far.why.empty()) {
    MESSAGE("skipped: cannot make a network namespace here (" << far.why << ")");
    return;
  }
  const int provider_port = gpux::local::free_port();
  const std::string token = "an-operator-token-for-far-agents";
  Exchange exchange("fix_address = " + far.here +
                    "\nprovider_port = " + std::to_string(provider_port) +
                    "\nprovider_address = " + far.here + "\nprovider_operator_token = " + token +
                    "\nverification_profile = cpu-sim\nqualification_challenge_ms = 200\n");
  exchange.spawn(Faults());
  REQUIRE_MESSAGE(gpux::local::wait_for_listener(exchange.fix_port, 30, far.here.c_str()),
                  exchange.log());
  // Said just after the acceptor listens: a connection may come first.
  CHECK(gpux::test::eventually(
      [&] {
        return exchange.log().find("FIX 4.4 acceptor on " + far.here + " port") !=
               std::string::npos;
      },
      std::chrono::seconds(10)));
  const std::string fix = std::string(GPUX_PATH) + " trade " + exchange.state_dir() + " --host " +
                          far.here + " --port " + std::to_string(exchange.fix_port) +
                          " --sender TRADER --dictionary " + GPUX_FIX_DICTIONARY + " --timeout 20 ";
  // From the other machine: an order over FIX, and a provider onboarded.
  const auto placed =
      gpux::test::run_command(far.run(fix + "place buy " + kSymbol + " 1 2.0 --id FAR1"));
  CHECK_MESSAGE(placed.status == 0, placed.output);
  const auto onboarded = gpux::test::run_command(
      "GPUX_OPERATOR_TOKEN=" + token + " " +
      far.run(std::string(GPUX_PATH) + " provider onboard --exchange " + far.here + ":" +
              std::to_string(provider_port) +
              " --name far-provider --region us-east --simulate H100-SXM,1 --out " +
              (exchange.dir.path() / "far-provider").string()));
  CHECK_MESSAGE(onboarded.status == 0, onboarded.output);
  CHECK(std::filesystem::exists(exchange.dir.path() / "far-provider" / "agent.conf"));
  // Loopback is not served: the operator chose the interface.
  CHECK_FALSE(gpux::local::accepts_connections(exchange.fix_port));
  CHECK_FALSE(gpux::local::accepts_connections(provider_port));
}

TEST_CASE("fix_address and provider_address take IP addresses, not names") {
  for (const char* key : {"fix_address", "provider_address"}) {
    CAPTURE(key);
    Exchange exchange(std::string(key) + " = exchange.example\n");
    exchange.spawn(Faults());
    CHECK(exchange.exit_status_within(30) == 2);
    CHECK(exchange.log().find("must be an IPv4 or IPv6 address") != std::string::npos);
  }
}

TEST_CASE(
    "the journal holds the market terms: no configuration needed to replay it, and a "
    "different file is overruled, saying so") {
  const std::string terms =
      "buyer_fee_ppm = 4000\nchallenges_per_obligation = 3\npenalty_ppm = 200000\n"
      "challenge_seed = 5\n";
  Exchange exchange(terms);
  exchange.start();
  REQUIRE(exchange.trade(std::string("place buy ") + kSymbol + " 1 2.0 --id T1").status == 0);
  REQUIRE(gpux::local::stop_daemon(exchange.pid, SIGTERM) == 0);
  exchange.pid = -1;
  const auto without_config = [&](const std::string& command) {
    return gpux::test::run_command(std::string(GPUX_PATH) + " " + command + " --data-dir " +
                                   exchange.data().string());
  };
  const auto audited = without_config("audit");
  CHECK_MESSAGE(audited.status == 0, audited.output);
  const auto reported =
      without_config("report --out " + (exchange.dir.path() / "reports").string());
  CHECK_MESSAGE(reported.status == 0, reported.output);

  // The operator edits the file; the journal's terms stay, and gpuxd says so.
  {
    std::ifstream in(exchange.dir.path() / "gpuxd.conf");
    std::string config((std::istreambuf_iterator<char>(in)), {});
    config.replace(config.find(terms), terms.size(), "buyer_fee_ppm = 0\n");
    std::ofstream(exchange.dir.path() / "gpuxd.conf") << config;
  }
  exchange.start();
  CHECK(exchange.log().find(
            "the journal's market terms (buyer_fee_ppm=4000 challenges_per_obligation=3 "
            "penalty_ppm=200000 challenge_seed=5) differ from the configuration's "
            "(buyer_fee_ppm=0 challenges_per_obligation=4 penalty_ppm=500000 "
            "challenge_seed=1735423352): the journal's hold") != std::string::npos);
  REQUIRE(exchange.trade(std::string("place buy ") + kSymbol + " 1 2.0 --id T2").status == 0);
  // Both buys hold 2.00 and the journal's 0.4% fee hold, 2.008 each.
  const auto cash = exchange.trade("cash");
  CHECK_MESSAGE(cash.output.find("reserved=4.016000") != std::string::npos, cash.output);
  // Across a SIGKILL too.
  gpux::local::stop_daemon(exchange.pid, SIGKILL);
  exchange.pid = -1;
  exchange.start();
  CHECK(exchange.trade("cash").output.find("reserved=4.016000") != std::string::npos);
  REQUIRE(gpux::local::stop_daemon(exchange.pid, SIGTERM) == 0);
  exchange.pid = -1;
  const auto again = without_config("audit");
  CHECK_MESSAGE(again.status == 0, again.output);
}

TEST_CASE("everything gpuxd writes is its owner's alone") {
  Exchange exchange;
  exchange.start();
  REQUIRE(exchange.trade(std::string("place buy ") + kSymbol + " 1 2.0 --id P1").status == 0);
  CHECK(gpux::local::stop_daemon(exchange.pid, SIGTERM) == 0);
  exchange.pid = -1;
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           exchange.data(), std::filesystem::directory_options{})) {
    struct stat status {};
    REQUIRE(::stat(entry.path().c_str(), &status) == 0);
    CAPTURE(entry.path().string());
    CHECK((status.st_mode & 077) == 0);  // no group or other access
    ++checked;
  }
  CHECK(checked > 10);  // the journal's files, the FIX state store, the FIX logs
}

TEST_CASE("sync = false is accepted, with a warning that acknowledged orders can be lost") {
  Exchange exchange("sync = false\n");
  exchange.start();
  CHECK(exchange.log().find("WARNING: sync = false") != std::string::npos);
}

TEST_CASE("too little free disk: gpuxd refuses to start with the figures; a little more warns") {
  SUBCASE("below min_free_mb") {
    Exchange exchange("min_free_mb = 1000000000000\n");  // an exabyte: never free here
    exchange.pid =
        gpux::local::spawn_daemon(GPUXD_PATH, (exchange.dir.path() / "gpuxd.conf").string(),
                                  (exchange.dir.path() / "gpuxd.log").string());
    REQUIRE(exchange.pid > 0);
    CHECK(exchange.exit_status_within(30) == 1);
    const std::string log = exchange.log();
    CAPTURE(log);
    CHECK(log.find("MiB free on the filesystem of " + exchange.data().string() +
                   " (min_free_mb = 1000000000000): free some space") != std::string::npos);
    CHECK(!std::filesystem::exists(exchange.data()));  // nothing was written
  }
  SUBCASE("below warn_free_mb") {
    Exchange exchange("min_free_mb = 1\nwarn_free_mb = 1000000000000\n");
    exchange.start();
    CHECK(exchange.log().find("WARNING: only ") != std::string::npos);
  }
}

TEST_CASE("cmake --install: gpuxd and gpux run from the prefix with the installed dictionary") {
  gpux::test::TempDir prefix;
  const std::string root = prefix.path().string();
  const auto installed = gpux::test::run_command(std::string(GPUX_CMAKE) + " --install " +
                                                 GPUX_BINARY_DIR + " --prefix " + root);
  REQUIRE_MESSAGE(installed.status == 0, installed.output);
  for (const char* file :
       {"bin/gpuxd", "bin/gpux", "bin/gpux-trade", "bin/gpux-report", "share/gpux/gpux-FIX44.xml",
        "share/doc/gpux/fix-spec.md", "share/doc/gpux/gpuxd.example.conf"})
    CHECK_MESSAGE(std::filesystem::exists(prefix.path() / file), file);

  // The installed tools look for the dictionary in the prefix, not in the
  // source tree they were built from.
  const auto help =
      gpux::test::run_command("env -u GPUX_FIX_DICTIONARY " + root + "/bin/gpux trade --help");
  CHECK_MESSAGE(help.output.find("[" + root + "/share/gpux/gpux-FIX44.xml]") != std::string::npos,
                help.output);

  // And they trade: the installed gpuxd with FIX, the installed gpux logging on.
  const int port = gpux::local::free_port();
  const std::string config = root + "/gpuxd.conf";
  std::ofstream(config) << "data_dir = " << root << "/data\nfix_port = " << port
                        << "\nfix_client = INSTALLED participant=1 password=none\n"
                           "participant = 1 cash=1000000\n"
                           "instrument = 1 symbol=H100-SXM.us-east.21000101T00 class=H100-SXM "
                           "region=us-east start=4102444800 tick=100 max=10 reference=2000000 "
                           "band=500000\n";
  ::unsetenv("GPUX_FIX_DICTIONARY");
  const pid_t daemon = gpux::local::spawn_daemon(root + "/bin/gpuxd", config, root + "/gpuxd.log");
  REQUIRE(daemon > 0);
  REQUIRE(gpux::local::wait_for_listener(port));
  const auto listed =
      gpux::test::run_command("cd / && " + root + "/bin/gpux trade --port " + std::to_string(port) +
                              " --sender INSTALLED --state-dir " + root + "/trade instruments");
  CHECK_MESSAGE(listed.status == 0, listed.output);
  CHECK_MESSAGE(listed.output.find("symbol=H100-SXM.us-east.21000101T00") != std::string::npos,
                listed.output);
  CHECK(gpux::local::stop_daemon(daemon, SIGTERM) == 0);
}
