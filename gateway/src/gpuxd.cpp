// gpuxd: the exchange daemon. Recovers from its data directory, runs the
// sequenced durable pipeline, and stops cleanly on SIGTERM or SIGINT (drain,
// snapshot, close). Clients reach it over FIX 4.4 (fix_port, docs/fix-spec.md)
// or the framed command stream on stdin/stdout (--stdio, proto/gpux.proto).
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>

#include "fix/fix_acceptor.h"
#include "fix_order_entry.h"
#include "fix_state_store.h"
#include "gpux.pb.h"
#include "gpux/gateway/command_stream.h"
#include "gpux/gateway/config.h"
#include "gpux/gateway/pipeline.h"
#include "gpux/storage/codec.h"
#include "gpux/storage/journal.h"
#include "provider_service.h"
#include "verification_driver.h"

namespace {

using namespace gpux;
using gateway::Pipeline;

// How often the product calendar looks at the clock.
constexpr int kCalendarTickMs = 1000;

void usage() {
  std::printf(
      "usage: gpuxd [--config FILE] [--data-dir DIR] [--stdio]\n"
      "\n"
      "The gpux exchange daemon. Recovers the engine from DIR (newest snapshot, then\n"
      "the journal after it), then sequences, journals (fsync group commit) and applies\n"
      "commands. SIGTERM or SIGINT: finish what was accepted, write a snapshot, exit 0.\n"
      "\n"
      "  --config FILE   settings and bootstrap (see below); without it, the defaults\n"
      "  --data-dir DIR  overrides data_dir from the configuration\n"
      "  --stdio         serve the framed command stream on stdin/stdout: 4-byte\n"
      "                  big-endian length + gpux.proto.Command in; StreamMessage out\n"
      "                  (Ready, then one Acknowledgement per command once durable).\n"
      "                  End of input stops the daemon like SIGTERM.\n"
      "  --hash-password read a password on stdin, print its salted hash for a\n"
      "                  fix_client line's password_hash=\n"
      "  --help          this text\n"
      "\n%s",
      gateway::config_reference());
}

int hash_password() {
  std::string password;
  std::getline(std::cin, password);
  if (sodium_init() < 0 || password.empty()) {
    std::fprintf(stderr, "gpuxd: give a non-empty password on standard input\n");
    return 2;
  }
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.c_str(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    std::fprintf(stderr, "gpuxd: out of memory while hashing\n");
    return 1;
  }
  std::printf("%s\n", hash);
  return 0;
}

// Writes whole frames to a file descriptor; several threads may call it.
class FrameWriter {
 public:
  explicit FrameWriter(int fd) : fd_(fd) {}

  bool write(const proto::StreamMessage& message) {
    const std::string bytes = gateway::frame(message);
    std::lock_guard lock(mutex_);
    return gateway::write_all(fd_, bytes);
  }

 private:
  int fd_;
  std::mutex mutex_;
};

void write_error(FrameWriter& out, const std::string& message) {
  proto::StreamMessage m;
  m.mutable_error()->set_message(message);
  out.write(m);
}

// Rejections by a scratch engine, so that a bad bootstrap is refused before
// anything is journaled.
std::string check_bootstrap(const gateway::DaemonConfig& config) {
  struct FirstRejection : matching::EventListener {
    std::string problem;
    std::size_t command = 0;
    void on_event(const matching::Event& e) override {
      if (const auto* r = std::get_if<matching::CommandRejected>(&e); r && problem.empty())
        problem = "bootstrap command " + std::to_string(command) +
                  " rejected: " + matching::to_string(r->reason);
    }
  } listener;
  auto engine = matching::make_engine(config.pipeline.engine, listener);
  for (const auto& body : config.bootstrap) {
    ++listener.command;
    engine->apply({{listener.command, 0}, body});
  }
  if (!listener.problem.empty()) return listener.problem;
  // One listing per product, for an hour far ahead, on fresh ids.
  gateway::Calendar one_hour = config.calendar;
  one_hour.horizon_hours = 1;
  constexpr std::int64_t kFarAhead = 4'102'444'800;  // 2100-01-01
  const auto listings = gateway::calendar_due(one_hour, {}, kFarAhead - 3600 + 1, 60'000);
  for (const auto& body : listings) {
    ++listener.command;
    engine->apply({{listener.command, 0}, body});
    if (!listener.problem.empty()) {
      const auto* listing = std::get_if<matching::ListInstrument>(&body);
      return "product " + (listing ? listing->spec->gpu_class + "." + listing->spec->region : "") +
             ": terms rejected (" + listener.problem.substr(listener.problem.find(": ") + 2) + ")";
    }
  }
  return {};
}

// Keeps the rolling listings of the product calendar up to date.
class CalendarKeeper {
 public:
  CalendarKeeper(gateway::Calendar calendar, std::vector<gateway::InstrumentStatus> existing)
      : calendar_(std::move(calendar)), instruments_(std::move(existing)) {}

  // Ticks when a second has passed since the last tick, however busy the
  // command stream keeps the caller.
  void tick_if_due(Pipeline& pipeline) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_tick_ < std::chrono::milliseconds(kCalendarTickMs)) return;
    last_tick_ = now;
    tick(pipeline);
  }

  // Submits whatever the clock makes due, and learns from the events.
  void tick(Pipeline& pipeline) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    matching::InstrumentId next_id = 0;
    for (const auto& s : instruments_)
      next_id = std::max(next_id, s.id + 1);
    for (const auto& body : gateway::calendar_due(calendar_, instruments_, now, next_id)) {
      for (const matching::Event& event : pipeline.execute(body).get())
        learn(body, event);
    }
  }

  // Instruments listed through bootstrap commands count too.
  void learn(const matching::CommandBody& body, const matching::Event& event) {
    if (std::holds_alternative<matching::InstrumentListed>(event)) {
      const matching::InstrumentSpec& spec = *std::get<matching::ListInstrument>(body).spec;
      instruments_.push_back({spec.id, spec.symbol, matching::InstrumentState::listed,
                              spec.gate_closure, spec.delivery_start, spec.delivery_end});
    } else if (const auto* changed = std::get_if<matching::InstrumentStateChanged>(&event)) {
      for (auto& s : instruments_)
        if (s.id == changed->instrument) s.state = changed->state;
    } else if (const auto* rejected = std::get_if<matching::CommandRejected>(&event)) {
      std::fprintf(stderr, "gpuxd: calendar command rejected: %s\n",
                   matching::to_string(rejected->reason));
    }
  }

 private:
  gateway::Calendar calendar_;
  std::vector<gateway::InstrumentStatus> instruments_;
  std::chrono::steady_clock::time_point last_tick_ = std::chrono::steady_clock::now();
};

// Reads frames from stdin and submits them until end of input or a signal.
void serve_stdio(Pipeline& pipeline, int signals, FrameWriter& out, CalendarKeeper& calendar) {
  std::string buffer;
  char chunk[1 << 16];
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signals, POLLIN, 0}};
  const auto acknowledge = [&out](const matching::Command& command,
                                  std::span<const matching::Event> events) {
    proto::StreamMessage m;
    auto& ack = *m.mutable_acknowledgement();
    ack.set_sequence(command.stamp.sequence);
    for (const matching::Event& e : events)
      *ack.add_events() = storage::encode(e);
    out.write(m);
  };
  while (true) {
    const int ready = ::poll(fds, 2, kCalendarTickMs);
    calendar.tick_if_due(pipeline);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return;
    if (ready == 0) continue;
    if (fds[1].revents & POLLIN) return;
    if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // end of input
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t at = 0;
    while (buffer.size() - at >= 4) {
      const std::size_t length = gateway::frame_length(std::string_view(buffer).substr(at, 4));
      if (length > gateway::kMaxFrame) {
        write_error(out, "frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                             std::to_string(gateway::kMaxFrame) + "; closing the stream");
        return;
      }
      if (buffer.size() - at - 4 < length) break;
      proto::Command command;
      if (!command.ParseFromArray(buffer.data() + at + 4, static_cast<int>(length))) {
        write_error(out, "frame does not parse as gpux.proto.Command; skipped");
      } else {
        try {
          if (!pipeline.submit(storage::decode(command).body, acknowledge)) return;
        } catch (const storage::DecodeError& e) {
          write_error(out, std::string("command refused: ") + e.what());
        }
      }
      at += 4 + length;
    }
    buffer.erase(0, at);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file;
  std::string data_dir;
  bool stdio = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--config" || arg == "--data-dir") && i + 1 < argc) {
      (arg == "--config" ? config_file : data_dir) = argv[++i];
    } else if (arg == "--stdio") {
      stdio = true;
    } else if (arg == "--hash-password") {
      return hash_password();
    } else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "gpuxd: unknown or incomplete argument '%s' (see gpuxd --help)\n",
                   arg.c_str());
      return 2;
    }
  }

  if (sodium_init() < 0) {  // FIX passwords: verified, and issued at onboarding
    std::fprintf(stderr, "gpuxd: cannot initialise libsodium\n");
    return 1;
  }
  gateway::DaemonConfig config;
  try {
    if (!config_file.empty()) config = gateway::load_config(config_file);
  } catch (const gateway::ConfigError& e) {
    std::fprintf(stderr, "gpuxd: %s\n", e.what());
    return 2;
  }
  if (!data_dir.empty()) config.pipeline.data_directory = data_dir;
  if (config.provider.port > 0 && config.provider.operator_token.empty()) {
    std::fprintf(stderr, "gpuxd: provider_port needs a provider_operator_token\n");
    return 2;
  }
  if (config.provider.tls_certificate.empty() != config.provider.tls_key.empty()) {
    std::fprintf(stderr, "gpuxd: provider_tls_certificate and provider_tls_key go together\n");
    return 2;
  }
  if (const std::string problem = check_bootstrap(config); !problem.empty()) {
    std::fprintf(stderr, "gpuxd: %s\n", problem.c_str());
    return 2;
  }

  // Signals are taken synchronously through a signalfd; every thread the
  // pipeline starts inherits the blocked mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const int signals = signalfd(-1, &mask, SFD_CLOEXEC);

  // The FIX gateway sees every durable command, to report on its orders. It
  // exists before recovery: the pipeline replays to it what followed its
  // checkpoint, and the reports that produces are queued in its sessions.
  std::unique_ptr<gateway::FixStateStore> fix_store;
  std::unique_ptr<gateway::FixOrderEntry> fix_entry;
  std::unique_ptr<fix::Acceptor> acceptor;
  if (config.fix.port > 0) {
    try {
      fix_store =
          std::make_unique<gateway::FixStateStore>(config.pipeline.data_directory / "fix-state");
      fix_entry = std::make_unique<gateway::FixOrderEntry>(config.fix, *fix_store);
      fix::AcceptorOptions options;
      options.port = config.fix.port;
      options.target_comp_id = config.fix.comp_id;
      options.data_dictionary = GPUX_FIX_DICTIONARY;
      options.log_directory = (config.pipeline.data_directory / "fix-log").string();
      options.max_messages_per_second = config.fix.max_messages_per_second;
      options.max_unsent_bytes = config.fix.max_unsent_bytes;
      for (const auto& [sender, client] : config.fix.clients)
        options.clients.push_back(sender);
      acceptor = std::make_unique<fix::Acceptor>(options, *fix_entry, *fix_store);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: cannot set up the FIX gateway: %s\n", e.what());
      return 1;
    }
    config.pipeline.observe_after = fix_entry->checkpoint_sequence();
  }
  // The verification driver exists only once the pipeline does; until then
  // (recovery replays) it has nothing to answer.
  std::unique_ptr<gateway::VerificationDriver> verification;
  std::atomic<gateway::VerificationDriver*> verification_observer{nullptr};
  std::unique_ptr<gateway::ProviderService> providers;
  std::atomic<gateway::ProviderService*> provider_observer{nullptr};
  config.pipeline.observer = [&fix_entry, &verification_observer, &provider_observer](
                                 const matching::Command& c,
                                 std::span<const matching::Event> events, std::string_view origin) {
    if (fix_entry) fix_entry->observe(c, events, origin);
    if (auto* driver = verification_observer.load()) driver->observe(events);
    if (auto* service = provider_observer.load()) service->observe(c, events);
  };

  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<Pipeline> pipeline;
  try {
    pipeline = std::make_unique<Pipeline>(config.pipeline);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpuxd: cannot start from %s: %s\n",
                 config.pipeline.data_directory.c_str(), e.what());
    return 1;
  }
  const auto& recovered = pipeline->recovery();
  for (const std::string& skipped : recovered.skipped_snapshots)
    std::fprintf(stderr, "gpuxd: skipped %s\n", skipped.c_str());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  std::fprintf(stderr,
               "gpuxd: recovered %s to sequence %llu (snapshot at %llu, %zu replayed) in %lld ms, "
               "state hash %016llx\n",
               config.pipeline.data_directory.c_str(),
               static_cast<unsigned long long>(recovered.last_sequence),
               static_cast<unsigned long long>(recovered.snapshot_sequence), recovered.replayed,
               static_cast<long long>(ms), static_cast<unsigned long long>(recovered.state_hash));

  if (!config.verification.simulated.empty()) {
    verification = std::make_unique<gateway::VerificationDriver>(config.verification, *pipeline);
    verification_observer = verification.get();
    // Challenges scheduled before a restart and not yet answered.
    const std::vector<matching::Event> pending(recovered.pending_challenges.begin(),
                                               recovered.pending_challenges.end());
    verification->observe(pending);
    std::fprintf(stderr, "gpuxd: answering the challenges of %zu simulated providers (cpu-sim)\n",
                 config.verification.simulated.size());
  }
  if (config.provider.port > 0) {
    try {
      providers = std::make_unique<gateway::ProviderService>(
          config.provider, config.fix, config.verification.challenge_ms,
          config.pipeline.data_directory, recovered,
          [&fix_entry](const std::string& sender, const std::string& hash) {
            if (fix_entry) fix_entry->set_password_hash(sender, hash);
          });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: cannot start the provider API on port %d: %s\n",
                   config.provider.port, e.what());
      pipeline->stop();
      return 1;
    }
    provider_observer = providers.get();
    providers->start(*pipeline);
    std::fprintf(stderr, "gpuxd: provider API on port %d (%s)\n", providers->port(),
                 config.provider.tls_certificate.empty() ? "plain TCP" : "TLS");
  }
  CalendarKeeper calendar(config.calendar, recovered.instruments);
  if (recovered.last_sequence == 0 && !config.bootstrap.empty()) {
    for (const auto& body : config.bootstrap)
      for (const matching::Event& event : pipeline->execute(body).get())
        calendar.learn(body, event);
    std::fprintf(stderr, "gpuxd: bootstrapped %zu commands\n", config.bootstrap.size());
  }
  calendar.tick(*pipeline);

  if (acceptor) {
    fix_entry->start(*pipeline, recovered.specs, recovered.instruments);
    for (const auto& [client, input] : fix_entry->journaled_inputs())
      acceptor->expect_after(client, input.generation, input.msg_seq_num);
    try {
      acceptor->start();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: cannot start the FIX acceptor on port %d: %s\n", config.fix.port,
                   e.what());
      pipeline->stop();
      return 1;
    }
    std::fprintf(stderr, "gpuxd: FIX 4.4 acceptor on port %d as %s, %zu clients\n", config.fix.port,
                 config.fix.comp_id.c_str(), config.fix.clients.size());
  }

  FrameWriter out(STDOUT_FILENO);
  if (stdio) {
    proto::StreamMessage ready;
    ready.mutable_ready()->set_last_sequence(recovered.last_sequence);
    ready.mutable_ready()->set_state_hash(recovered.state_hash);
    ready.mutable_ready()->set_replayed(recovered.replayed);
    ready.mutable_ready()->set_snapshot_sequence(recovered.snapshot_sequence);
    out.write(ready);
    serve_stdio(*pipeline, signals, out, calendar);
  } else {
    std::fprintf(stderr, "gpuxd: ready; stop with SIGTERM or Ctrl-C\n");
    pollfd fd{signals, POLLIN, 0};
    while (!(fd.revents & POLLIN)) {
      ::poll(&fd, 1, kCalendarTickMs);
      calendar.tick_if_due(*pipeline);
    }
  }

  if (acceptor) acceptor->stop();
  if (verification) verification->stop();
  if (providers) providers->stop();
  try {
    pipeline->stop();
    if (fix_entry) {
      fix_entry->stop_sending();  // every report in the sessions' stores first
      fix_entry->checkpoint();    // at the engine's snapshot: nothing to replay
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpuxd: journal failure: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "gpuxd: stopped cleanly after %llu commands this run\n",
               static_cast<unsigned long long>(pipeline->stats().commands));
  return 0;
}
