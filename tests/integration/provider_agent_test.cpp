// A provider's agent (`gpux provider agent`, a real process) answers delivery
// challenges over the provider API, and keeps doing so across a SIGKILL and
// restart of gpuxd: it reconnects with back-off, the restarted exchange still
// knows its token and re-queues the challenges nobody answered, and
// settlement pays for what the agent proved.
#include <doctest/doctest.h>
#include <pwd.h>
#include <spawn.h>

#include <fstream>
#include <map>
#include <thread>

#include "child_log.h"
#include "daemon_commands.h"
#include "gpux/provider/wire.h"
#include "gpux/storage/codec.h"
#include "gpux/storage/journal.h"
#include "gpuxd_process.h"
#include "local_daemon.h"
#include "market.h"
#include "run_command.h"
#include "ssh_login.h"
#include "temp_dir.h"

using namespace gpux::test;
namespace wire = gpux::provider;
namespace storage = gpux::storage;
namespace proto = gpux::proto;

namespace {

constexpr const char* kOperator = "operator-token-for-agent-tests";

// Waits up to 60 s for `needle` to appear `count` times in `file`.
bool wait_for_lines(const std::filesystem::path& file, const std::string& needle,
                    std::size_t count) {
  for (int i = 0; i < 1200 && count_lines(file, needle) < count; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return count_lines(file, needle) >= count;
}

// gpuxd's configuration for these tests: `rounds` rounds an hour of 100 ms
// cpu-sim proofs, the provider API on `port`, participant 1 funded; then
// `more` lines.
void write_config(const std::filesystem::path& file, int port, int rounds,
                  const std::string& more = "") {
  std::ofstream(file) << "challenges_per_obligation = " << rounds
                      << "\nverification_challenge_ms = 100\n"
                         "verification_profile = cpu-sim\n"
                         "provider_port = "
                      << port << "\nprovider_operator_token = " << kOperator
                      << "\nparticipant = 1 cash=1000000000000\n"
                      << more;
}

pid_t spawn_agent(const std::filesystem::path& config, const std::filesystem::path& log) {
  std::vector<std::string> args = {GPUX_PATH, "provider", "agent", "--config", config.string()};
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, GPUX_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(error == 0);
  return pid;
}

// The operator registers a provider over the provider API.
proto::provider::ProviderRegistered register_provider(int port, const std::string& name) {
  const auto transport =
      wire::Transport::connect("127.0.0.1:" + std::to_string(port), {}, std::chrono::seconds(30));
  wire::Frame hello;
  hello.mutable_hello()->set_token(kOperator);
  wire::write_frame(*transport, hello);
  REQUIRE(wire::read_frame(*transport, wire::kDefaultMaxFrameBytes, std::chrono::seconds(30))
              .has_welcome());
  wire::Frame request;
  request.mutable_register_provider()->set_name(name);
  request.mutable_register_provider()->set_region("us-east");
  request.mutable_register_provider()->set_cash(1'000'000'000);
  request.mutable_register_provider()->set_collateral(500'000'000);
  wire::write_frame(*transport, request);
  const wire::Frame reply =
      wire::read_frame(*transport, wire::kDefaultMaxFrameBytes, std::chrono::seconds(30));
  REQUIRE(reply.has_provider_registered());
  return reply.provider_registered();
}

// Instrument 1, H100-SXM, delivering from now for `seconds`: `provider`
// sold `units` of it to participant 1. Returns its start.
std::int64_t deliver_now(GpuxdProcess& daemon, ParticipantId provider, Quantity units,
                         std::int64_t seconds) {
  const std::int64_t now = unix_now();
  InstrumentSpec spec = standard_spec(1);
  spec.gpu_class = "H100-SXM";
  spec.delivery_start = now;
  spec.delivery_end = now + seconds;
  spec.gate_closure = now;
  execute(daemon, ListInstrument{spec});
  execute(daemon, ChangeInstrumentState{1, InstrumentState::open});
  execute(daemon, SetSellCapacity{provider, 1, units});
  execute(daemon, NewOrder{1, provider, 1, Side::sell, OrderType::limit,
                           SelfTradePrevention::cancel_incoming, 2'000'000, units});
  execute(daemon, NewOrder{2, 1, 1, Side::buy, OrderType::limit,
                           SelfTradePrevention::cancel_incoming, 2'000'000, units});
  execute(daemon, ChangeInstrumentState{1, InstrumentState::gate_closed});
  execute(daemon, ChangeInstrumentState{1, InstrumentState::delivering});
  return now;
}

// A scripted agent: logged on with `token`, ready for work.
std::unique_ptr<wire::Transport> agent_connection(int port, const std::string& token) {
  auto transport =
      wire::Transport::connect("127.0.0.1:" + std::to_string(port), {}, std::chrono::seconds(30));
  wire::Frame hello;
  hello.mutable_hello()->set_token(token);
  wire::write_frame(*transport, hello);
  REQUIRE(wire::read_frame(*transport, wire::kDefaultMaxFrameBytes, std::chrono::seconds(30))
              .has_welcome());
  wire::Frame ready;
  ready.mutable_agent_ready();
  wire::write_frame(*transport, ready);
  return transport;
}

}  // namespace

TEST_CASE("a grant the agent failed to open is sent again after delivery_grant_retry_ms") {
  TempDir dir;
  const int port = gpux::local::free_port();
  const auto config = dir.path() / "gpux.conf";
  write_config(config, port, 1, "delivery_grant_retry_ms = 300\n");
  const auto log = dir.path() / "gpuxd.log";
  GpuxdProcess daemon(GPUXD_PATH, dir.path() / "data", log, config);
  REQUIRE(daemon.read()->has_ready());
  const auto registered = register_provider(port, "flaky");
  const ParticipantId provider = registered.participant();
  auto agent = agent_connection(port, registered.token());

  // An hour long enough that its one round is not due while this runs.
  deliver_now(daemon, provider, 1, 3600);

  // The grant, refused twice; each time it comes back, no sooner than the
  // retry time after the refusal.
  std::optional<std::chrono::steady_clock::time_point> refused;
  for (int grants = 0; grants < 3;) {
    const wire::Frame frame =
        wire::read_frame(*agent, wire::kDefaultMaxFrameBytes, std::chrono::seconds(30));
    if (frame.has_heartbeat()) {
      wire::write_frame(*agent, frame);
      continue;
    }
    REQUIRE(frame.has_delivery_grant());
    if (refused)
      CHECK(std::chrono::steady_clock::now() - *refused >= std::chrono::milliseconds(300));
    wire::Frame answer;
    answer.mutable_error()->set_reason("port taken, this time");
    wire::write_frame(*agent, answer);
    refused = std::chrono::steady_clock::now();
    ++grants;
  }
  // The same failure again journals nothing new.
  CHECK(count_lines(log, "delivery of trade 1 (provider " + std::to_string(provider) +
                             ") failed: port taken, this time; journaled") == 1);
}

TEST_CASE("a provider agent answers over the provider API, across a gpuxd SIGKILL and restart") {
  TempDir dir;
  const int port = gpux::local::free_port();
  const auto config = dir.path() / "gpux.conf";
  write_config(config, port, 2, "penalty_ppm = 500000\n");
  const auto data = dir.path() / "data";
  const auto log = dir.path() / "gpuxd.log";
  const auto agent_log = dir.path() / "agent.log";

  const std::int64_t now = unix_now();
  InstrumentSpec spec = standard_spec(1);
  spec.gpu_class = "H100-SXM";
  spec.delivery_start = now + 8;  // after the kill and the restart
  spec.delivery_end = spec.delivery_start + 3;
  spec.gate_closure = now;

  GpuxdProcess daemon(GPUXD_PATH, data, log, config);
  REQUIRE(daemon.read()->has_ready());

  // The operator registers the provider; its agent connects with the token.
  const proto::provider::ProviderRegistered registered = register_provider(port, "agent-test");
  const ParticipantId provider = registered.participant();
  std::ofstream(dir.path() / "agent.conf")
      << "exchange = 127.0.0.1:" << port << "\nparticipant = " << provider
      << "\ntoken = " << registered.token()
      << "\ngpu_class = H100-SXM\ngpus = 5\nsimulated = true\n";
  const pid_t agent = spawn_agent(dir.path() / "agent.conf", agent_log);
  REQUIRE(wait_for_lines(agent_log, "agent: connected", 1));

  // One trade of 5 units, its two challenges due after the restart.
  execute(daemon, ListInstrument{spec});
  execute(daemon, ChangeInstrumentState{1, InstrumentState::open});
  execute(daemon, SetSellCapacity{provider, 1, 100});
  execute(daemon, NewOrder{1, provider, 1, Side::sell, OrderType::limit,
                           SelfTradePrevention::cancel_incoming, 2'000'000, 5});
  execute(daemon, NewOrder{2, 1, 1, Side::buy, OrderType::limit,
                           SelfTradePrevention::cancel_incoming, 2'000'000, 5});
  execute(daemon, ChangeInstrumentState{1, InstrumentState::gate_closed});
  std::size_t scheduled = 0;
  for (const auto& e : execute(daemon, ChangeInstrumentState{1, InstrumentState::delivering}))
    scheduled += e.has_challenge_scheduled();
  REQUIRE(scheduled == 2 * 5);  // 2 rounds of its 5 units

  daemon.kill_hard();
  daemon.wait();
  GpuxdProcess restarted(GPUXD_PATH, data, log, config);
  REQUIRE(restarted.read()->has_ready());
  // The agent finds the exchange again, and proves both challenges.
  CHECK(wait_for_lines(agent_log, "agent: connected", 2));
  CHECK(wait_for_lines(log, " passed and recorded", 10));
  // The agent logs a round when its result comes back, after gpuxd recorded it.
  CHECK(wait_for_lines(agent_log, "a round of 5 challenges at once: 5 passed", 2));
  CHECK(count_lines(agent_log, "a round of") == 2);

  std::size_t settled = 0;
  for (const auto& e : execute(restarted, ChangeInstrumentState{1, InstrumentState::settled})) {
    if (!e.has_obligation_settled()) continue;
    ++settled;
    CHECK(e.obligation_settled().passed() == 10);
    CHECK(e.obligation_settled().verified() == 5);
    CHECK(e.obligation_settled().penalty() == 0);
  }
  CHECK(settled == 1);
  gpux::local::stop_daemon(agent, SIGTERM);
  check_no_sanitizer_report(agent_log.string());
}

TEST_CASE("a node unit is proven only when all 8 of its GPUs are; an agent running 7 fails it") {
  TempDir dir;
  const int port = gpux::local::free_port();
  const auto config = dir.path() / "gpux.conf";
  write_config(config, port, 2, "penalty_ppm = 500000\n");
  const auto log = dir.path() / "gpuxd.log";
  GpuxdProcess daemon(GPUXD_PATH, dir.path() / "data", log, config);
  REQUIRE(daemon.read()->has_ready());

  const std::int64_t now = unix_now();
  InstrumentSpec spec = standard_spec(1);
  spec.gpu_class = "H100-SXM-8x";
  spec.gpus_per_unit = 8;
  spec.delivery_start = now;  // its rounds are due as soon as delivery starts
  spec.delivery_end = now + 3;
  spec.gate_closure = now;
  execute(daemon, ListInstrument{spec});
  execute(daemon, ChangeInstrumentState{1, InstrumentState::open});

  // Two providers sell one 8-GPU node each: one runs its 8 GPUs, the other 7.
  std::vector<pid_t> agents;
  std::map<ParticipantId, std::string> names;
  for (const auto& [name, devices] : {std::pair{"whole-node", 8}, {"short-node", 7}}) {
    const auto registered = register_provider(port, name);
    const auto conf = dir.path() / (std::string(name) + ".conf");
    std::ofstream(conf) << "exchange = 127.0.0.1:" << port
                        << "\nparticipant = " << registered.participant()
                        << "\ntoken = " << registered.token()
                        << "\ngpu_class = H100-SXM-8x\ngpus = 8\nsimulated = true\n"
                        << "cheat_devices = " << devices << "\n";
    const auto agent_log = dir.path() / (std::string(name) + ".log");
    agents.push_back(spawn_agent(conf, agent_log));
    REQUIRE(wait_for_lines(agent_log, "agent: connected", 1));
    names[registered.participant()] = name;
    execute(daemon, SetSellCapacity{registered.participant(), 1, 1});
    execute(daemon, NewOrder{registered.participant(), registered.participant(), 1, Side::sell,
                             OrderType::limit, SelfTradePrevention::cancel_incoming, 2'000'000, 1});
  }
  std::size_t trades = 0;
  for (const auto& e :
       execute(daemon, NewOrder{1, 1, 1, Side::buy, OrderType::limit,
                                SelfTradePrevention::cancel_incoming, 2'000'000, 2}))
    trades += e.has_trade();
  REQUIRE(trades == 2);
  execute(daemon, ChangeInstrumentState{1, InstrumentState::gate_closed});
  std::size_t scheduled = 0;
  for (const auto& e : execute(daemon, ChangeInstrumentState{1, InstrumentState::delivering}))
    scheduled += e.has_challenge_scheduled();
  REQUIRE(scheduled == 2 * 2);  // 2 rounds of each provider's one unit
  // Each round proves 8 GPUs per unit; the short node's eighth has no device.
  CHECK(wait_for_lines(log, " and recorded", 4));
  CHECK(count_lines(log, " passed and recorded") == 2);
  // The agent logs the failure from the round's result, after gpuxd recorded it.
  const auto short_log = dir.path() / "short-node.log";
  const char* const no_eighth = "no device for challenge 8: this provider runs 7";
  CHECK(wait_for_lines(short_log, no_eighth, 2));
  CHECK(count_lines(short_log, no_eighth) == 2);

  std::map<std::string, proto::ObligationSettled> settled;
  for (const auto& e : execute(daemon, ChangeInstrumentState{1, InstrumentState::settled}))
    if (e.has_obligation_settled())
      settled[names[e.obligation_settled().provider()]] = e.obligation_settled();
  REQUIRE(settled.size() == 2);
  CHECK(settled["whole-node"].passed() == 2);
  CHECK(settled["whole-node"].verified() == 1);
  CHECK(settled["short-node"].passed() == 0);
  CHECK(settled["short-node"].verified() == 0);
  CHECK(settled["short-node"].penalty() == 1'000'000);  // 50% of the node-hour's 2 USD
  for (const pid_t agent : agents)
    gpux::local::stop_daemon(agent, SIGTERM);
}

TEST_CASE("an agent that comes later than the grace after a round's instant finds it missed") {
  TempDir dir;
  const int port = gpux::local::free_port();
  const auto config = dir.path() / "gpux.conf";
  write_config(config, port, 2, "provider_round_grace_ms = 1000\n");
  const auto log = dir.path() / "gpuxd.log";
  GpuxdProcess daemon(GPUXD_PATH, dir.path() / "data", log, config);
  REQUIRE(daemon.read()->has_ready());
  const auto registered = register_provider(port, "absent");
  const ParticipantId provider = registered.participant();

  // Both rounds fall in the next two seconds.
  const std::int64_t now = deliver_now(daemon, provider, 3, 2);

  // The provider's GPUs were elsewhere at both instants; its agent connects
  // once the grace has passed (the scenario is the clock itself).
  while (unix_now() < now + 2 + 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::ofstream(dir.path() / "agent.conf")
      << "exchange = 127.0.0.1:" << port << "\nparticipant = " << provider
      << "\ntoken = " << registered.token()
      << "\ngpu_class = H100-SXM\ngpus = 3\nsimulated = true\n";
  const auto agent_log = dir.path() / "agent.log";
  const pid_t agent = spawn_agent(dir.path() / "agent.conf", agent_log);
  CHECK(wait_for_lines(log, "failed (missed: no agent connected within 1000 ms", 2 * 3));
  CHECK(count_lines(agent_log, "a round of") == 0);  // nothing left to prove
  for (const auto& e : execute(daemon, ChangeInstrumentState{1, InstrumentState::settled}))
    if (e.has_obligation_settled()) {
      CHECK(e.obligation_settled().passed() == 0);
      CHECK(e.obligation_settled().verified() == 0);
    }
  gpux::local::stop_daemon(agent, SIGTERM);
}

TEST_CASE("an agent that leaves mid-round fails the round; it is not proved again") {
  TempDir dir;
  const int port = gpux::local::free_port();
  const auto config = dir.path() / "gpux.conf";
  write_config(config, port, 1);
  const auto log = dir.path() / "gpuxd.log";
  GpuxdProcess daemon(GPUXD_PATH, dir.path() / "data", log, config);
  REQUIRE(daemon.read()->has_ready());
  const auto registered = register_provider(port, "quitter");
  const ParticipantId provider = registered.participant();
  const auto agent_hello = [&] { return agent_connection(port, registered.token()); };
  auto agent = agent_hello();
  // The next frame that is not about access: this agent opens none (it
  // answers grants with an Error) and confirms every end.
  const auto next_frame = [](wire::Transport& transport) {
    for (;;) {
      wire::Frame frame =
          wire::read_frame(transport, wire::kDefaultMaxFrameBytes, std::chrono::seconds(30));
      wire::Frame answer;
      if (frame.has_delivery_grant()) {
        answer.mutable_error()->set_reason("this test agent opens no access");
      } else if (frame.has_delivery_end()) {
        answer.mutable_delivery_ended()->set_trade(frame.delivery_end().trade());
      } else {
        return frame;
      }
      wire::write_frame(transport, answer);
    }
  };

  deliver_now(daemon, provider, 2, 1);

  // The round's first batch arrives (its challenge starts); this agent
  // hangs up instead of answering, as one whose proof was going badly would.
  for (;;) {
    const wire::Frame frame = next_frame(*agent);
    if (frame.has_proof_batch()) break;
    REQUIRE(frame.has_heartbeat());
    wire::write_frame(*agent, frame);
  }
  agent.reset();
  CHECK(wait_for_lines(log, "failed (incomplete: the agent's connection ended mid-round", 2));
  // Why it opened no access is journaled, for the buyer to read.
  CHECK(count_lines(log, "delivery of trade 1 (provider " + std::to_string(provider) +
                             ") failed: this test agent opens no access; journaled") == 1);
  // Back at once, it finds no round to prove again: only heartbeats.
  agent = agent_hello();
  CHECK(next_frame(*agent).has_heartbeat());
  for (const auto& e : execute(daemon, ChangeInstrumentState{1, InstrumentState::settled}))
    if (e.has_obligation_settled()) CHECK(e.obligation_settled().passed() == 0);
}

namespace {

// The port of trade `trade`'s delivery, from the agent's log (0: not yet).
int delivery_port(const std::filesystem::path& agent_log, gpux::matching::TradeId trade) {
  std::ifstream in(agent_log);
  const std::string opened = "agent: delivery of trade " + std::to_string(trade) + " (";
  for (std::string line; std::getline(in, line);)
    if (line.rfind(opened, 0) == 0 && line.find(" port ") != std::string::npos)
      return std::stoi(line.substr(line.rfind(" port ") + 6));
  return 0;
}

// Runs `command` as the agent's user on the delivery at `port`.
CommandResult ssh_as(const SshKey& key, int port, const std::string& command) {
  return ssh_run(key, ::getpwuid(::geteuid())->pw_name, "127.0.0.1", port, command);
}

}  // namespace

TEST_CASE("a buyer logs in to exactly its GPUs for its hour; a provider opening no access pays") {
  TempDir dir;
  const int port = gpux::local::free_port();
  const auto config = dir.path() / "gpux.conf";
  write_config(config, port, 2, "penalty_ppm = 500000\nparticipant = 2 cash=1000000000000\n");
  const auto data = dir.path() / "data";
  const auto log = dir.path() / "gpuxd.log";
  GpuxdProcess daemon(GPUXD_PATH, data, log, config);
  REQUIRE(daemon.read()->has_ready());

  const SshKey buyer_key = make_ssh_key(dir.path(), "buyer");
  const SshKey other_key = make_ssh_key(dir.path(), "other");
  execute(daemon,
          AddDeliveryKey{.participant = 1,
                         .key = std::make_shared<const std::string>(buyer_key.public_line)});
  execute(daemon,
          AddDeliveryKey{.participant = 2,
                         .key = std::make_shared<const std::string>(other_key.public_line)});

  // An honest provider with 4 GPUs, and one that reports endpoints and opens none.
  std::map<std::string, ParticipantId> providers;
  std::vector<pid_t> agents;
  for (const auto& [name, cheat] : {std::pair{"honest", false}, {"no-access", true}}) {
    const auto registered = register_provider(port, name);
    providers[name] = registered.participant();
    const auto folder = dir.path() / name;
    std::filesystem::create_directories(folder);
    std::ofstream(folder / "agent.conf")
        << "exchange = 127.0.0.1:" << port << "\nparticipant = " << registered.participant()
        << "\ntoken = " << registered.token() << "\ngpu_class = H100-SXM\ngpus = 4\n"
        << "simulated = true\ncheat_no_access = " << (cheat ? "true" : "false") << "\n";
    agents.push_back(spawn_agent(folder / "agent.conf", folder / "agent.log"));
    REQUIRE(wait_for_lines(folder / "agent.log", "agent: connected", 1));
  }

  // Delivery starts (and access opens) before the hour, so that the agent's
  // restart below is over before the first round: killed mid-round, it
  // would rightly fail that round. The rounds fall at seeded instants in the hour.
  const std::int64_t now = unix_now();
  InstrumentSpec spec = standard_spec(1);
  spec.gpu_class = "H100-SXM";
  spec.gate_closure = now;
  spec.delivery_start = now + 12;
  spec.delivery_end = now + 24;
  execute(daemon, ListInstrument{spec});
  execute(daemon, ChangeInstrumentState{1, InstrumentState::open});
  OrderId order = 1;
  for (const char* name : {"honest", "no-access"}) {  // trades 1 and 2, 2 units each
    execute(daemon, SetSellCapacity{providers[name], 1, 4});
    execute(daemon, NewOrder{order++, providers[name], 1, Side::sell, OrderType::limit,
                             SelfTradePrevention::cancel_incoming, 2'000'000, 2});
    execute(daemon, NewOrder{order++, 1, 1, Side::buy, OrderType::limit,
                             SelfTradePrevention::cancel_incoming, 2'000'000, 2});
  }
  execute(daemon, ChangeInstrumentState{1, InstrumentState::gate_closed});
  execute(daemon, ChangeInstrumentState{1, InstrumentState::delivering});

  // The buyer's key logs in and sees exactly its 2 GPUs; the other buyer's is refused.
  const auto honest_log = dir.path() / "honest" / "agent.log";
  REQUIRE(wait_for_lines(honest_log, "agent: delivery of trade 1 (", 1));
  const int ssh_port = delivery_port(honest_log, 1);
  REQUIRE(ssh_port > 0);
  const CommandResult seen = ssh_as(buyer_key, ssh_port, "echo gpus=$CUDA_VISIBLE_DEVICES");
  CHECK_MESSAGE(seen.status == 0, seen.output);
  CHECK(seen.output == "gpus=0,1\n");
  const CommandResult intruder = ssh_as(other_key, ssh_port, "true");
  CHECK(intruder.status == 255);
  CHECK(intruder.output.find("Permission denied") != std::string::npos);
  // It leaves a process behind, in a session of its own.
  const CommandResult left = ssh_as(
      buyer_key, ssh_port,
      "setsid sh -c \"echo \\$\\$ > left.pid; exec sleep 600\" </dev/null >/dev/null 2>&1 &");
  CHECK_MESSAGE(left.status == 0, left.output);
  const auto pid_file = dir.path() / "honest" / "deliveries" / "1" / "home" / "left.pid";
  pid_t leftover = 0;
  for (int i = 0; i < 250 && leftover == 0; ++i) {
    std::ifstream in(pid_file);
    if (!(in >> leftover)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(leftover > 0);
  CHECK_FALSE(process_gone(leftover));

  // The agent is killed and restarted: access stays open, and the grant
  // sent again finds the same endpoint.
  gpux::local::stop_daemon(agents[0], SIGKILL);
  agents[0] = spawn_agent(dir.path() / "honest" / "agent.conf", honest_log);
  CHECK(wait_for_lines(honest_log, "agent: delivery of trade 1 (", 2));
  CHECK(count_lines(honest_log, "port " + std::to_string(ssh_port)) == 2);
  CHECK(ssh_as(buyer_key, ssh_port, "true").status == 0);
  CHECK_FALSE(process_gone(leftover));
  CHECK(unix_now() < spec.delivery_start);  // else a round may have met the restart
  // Inside the hour the buyer is let in (the scenario is the clock itself).
  while (unix_now() < spec.delivery_start)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(ssh_as(buyer_key, ssh_port, "echo $CUDA_VISIBLE_DEVICES").output == "0,1\n");
  CHECK(unix_now() < spec.delivery_end);
  // The buyer removes its key (lost, or leaked): the agent is granted the
  // profile again, and the key is refused at once, not at the hour's end.
  execute(daemon,
          RemoveDeliveryKey{.participant = 1,
                            .key = std::make_shared<const std::string>(buyer_key.public_line)});
  CHECK(wait_for_lines(honest_log, "agent: delivery of trade 1 (", 3));
  CHECK(wait_for_lines(honest_log, "opened for 0 key(s): port " + std::to_string(ssh_port), 1));
  const CommandResult removed = ssh_as(buyer_key, ssh_port, "true");
  CHECK(removed.status == 255);
  CHECK(removed.output.find("Permission denied") != std::string::npos);
  CHECK(unix_now() < spec.delivery_end);

  // The hour ends: access is revoked and journaled, the process ended, the key refused.
  CHECK(wait_for_lines(
      log, "delivery of trade 1 (provider " + std::to_string(providers["honest"]) + ") revoked",
      1));
  CHECK(process_gone(leftover));
  const CommandResult after = ssh_as(buyer_key, ssh_port, "true");
  CHECK(after.status == 255);
  // Every unit of both trades was challenged twice: the honest one proved
  // and reachable, the other proved but unreachable.
  CHECK(wait_for_lines(log, "passed and recorded", 4));
  CHECK(wait_for_lines(log, "failed (no_access: ", 4));
  std::map<std::uint64_t, proto::ObligationSettled> settled;
  for (const auto& e : execute(daemon, ChangeInstrumentState{1, InstrumentState::settled}))
    if (e.has_obligation_settled())
      settled[e.obligation_settled().trade()] = e.obligation_settled();
  REQUIRE(settled.size() == 2);
  CHECK(settled[1].verified() == 2);
  CHECK(settled[1].penalty() == 0);
  CHECK(settled[2].passed() == 0);
  CHECK(settled[2].verified() == 0);
  CHECK(settled[2].refund() >= 2 * 2'000'000);       // the notional back to the buyer
  CHECK(settled[2].penalty() == 2 * 2'000'000 / 2);  // 50% of the unverified notional
  for (pid_t agent : agents)
    gpux::local::stop_daemon(agent, SIGTERM);
  daemon.terminate();
  daemon.wait();
  // The audit replays the journal, deliveries included, to the same settlement.
  const CommandResult audit =
      run_command(std::string(GPUX_PATH) + " audit --data-dir " + data.string());
  CHECK_MESSAGE(audit.status == 0, audit.output);
}
