// gpuxd: the exchange daemon. Recovers from its data directory, runs the
// sequenced durable pipeline, and stops cleanly on SIGTERM or SIGINT (drain,
// snapshot, close). Clients reach it over FIX 4.4 (fix_port, docs/fix-spec.md)
// or the framed command stream on stdin/stdout (--stdio, proto/command_stream.proto).
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
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

#include "calendar_keeper.h"
#include "cluster_node.h"
#include "command_stream.pb.h"
#include "disk_headroom.h"
#include "fix_acceptor.h"
#include "gpux/daemon/config.h"
#include "gpux/fix/dictionary_path.h"
#include "gpux/fix/gateway.h"
#include "gpux/fix/state_store.h"
#include "gpux/market_data/server.h"
#include "gpux/provider/pending_challenges.h"
#include "gpux/provider/service.h"
#include "gpux/provider/verification_driver.h"
#include "gpux/sequencer/pipeline.h"
#include "metrics.h"
#include "stdio_server.h"

namespace {

using namespace gpux;
using sequencer::Pipeline;

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
      "  --config-reference\n"
      "                  print the configuration keys below alone (docs/configuration.md)\n"
      "  --help          this text\n"
      "\n%s",
      daemon::config_reference());
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

// Rejections by a scratch engine, so that a bad bootstrap is refused before
// anything is journaled.
// A configured product's terms, as they seed a new journal; `profile` the
// configuration's verification_profile (empty: the class's own).
matching::ProductTerms product_terms_of(const daemon::Product& product,
                                        const std::string& profile) {
  return {.gpu_class = product.gpu_class,
          .region = product.region,
          .maker_fee_ppm = product.terms.maker_fee_ppm,
          .taker_fee_ppm = product.terms.taker_fee_ppm,
          .reference_price = product.terms.reference_price,
          .band_width = product.terms.band_width,
          .verification_profile = profile,
          .effective_from = 0};
}

// A configured fix_client as the seat it seeds.
matching::Seat seat_of(const std::string& sender, const fix::FixClient& client) {
  return {.sender_comp_id = sender,
          .participant = client.participant,
          .password_hash = client.password_hash,
          .no_password = client.no_password,
          .cancel_on_disconnect = client.cancel_on_disconnect,
          .enabled = true};
}

std::string check_bootstrap(const daemon::DaemonConfig& config) {
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
  // What a new journal is seeded with, in gpuxd's order (seats, the
  // bootstrap, the products' terms, the calendar's listings): refused here,
  // nothing of it is journaled (a half-seeded journal would not be seeded
  // again).
  for (const auto& [sender, client] : config.fix.clients) {
    engine->apply({{++listener.command, 0}, matching::SetSeat{seat_of(sender, client)}});
    if (!listener.problem.empty())
      return "fix_client " + sender + ": " +
             listener.problem.substr(listener.problem.find(": ") + 2) +
             " (a SenderCompID is 1 to 64 letters, digits, '-', '_' or '.')";
  }
  listener.command = 0;
  for (const auto& body : config.bootstrap) {
    ++listener.command;
    engine->apply({{listener.command, 0}, body});
  }
  if (!listener.problem.empty()) return listener.problem;
  for (const auto& product : config.calendar.products) {
    engine->apply(
        {{++listener.command, 0},
         matching::SetProductTerms{product_terms_of(product, config.provider.profile_override)}});
    if (!listener.problem.empty())
      return "product " + product.gpu_class + "." + product.region + ": terms rejected (" +
             listener.problem.substr(listener.problem.find(": ") + 2) + ")";
  }
  // One listing per product, for an hour far ahead, on fresh ids.
  daemon::Calendar one_hour = config.calendar;
  one_hour.horizon_hours = 1;
  constexpr std::int64_t kFarAhead = 4'102'444'800;  // 2100-01-01
  const auto listings = daemon::calendar_due(one_hour, {}, kFarAhead - 3600 + 1, 60'000);
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

// A store that cannot write or fsync: nothing more can be acknowledged, so
// gpuxd stops as on SIGTERM (connections closed, so no client is left
// waiting) and exits 1, rather than run on with its sessions unanswered.
// The first failure is the cause and gets the one FATAL line; those that
// follow while gpuxd stops (the same disk failing again) are noted as such.
std::atomic<bool> storage_failed{false};  // main() then exits 1

void stop_for_storage_failure(const char* store, const std::string& directory,
                              const std::string& cause, const char* consequence) {
  if (storage_failed.exchange(true)) {
    std::fprintf(stderr, "gpuxd: while stopping, %s in %s failed too: %s\n", store,
                 directory.c_str(), cause.c_str());
    return;
  }
  std::fprintf(stderr, "gpuxd: FATAL: %s in %s failed: %s; stopping (%s)\n", store,
               directory.c_str(), cause.c_str(), consequence);
  ::kill(::getpid(), SIGTERM);
}

// Journals one command of the configuration's seed. False, having said why,
// when the engine refuses it; a journal failure has said so itself (its
// on_failure), and gpuxd stops from there.
bool seed(sequencer::Pipeline& pipeline, matching::CommandBody command, const std::string& what) {
  try {
    for (const matching::Event& event : pipeline.execute(std::move(command)).get())
      if (const auto* r = std::get_if<matching::CommandRejected>(&event)) {
        std::fprintf(stderr, "gpuxd: %s is refused: %s\n", what.c_str(),
                     matching::to_string(r->reason));
        return false;
      }
  } catch (const sequencer::PipelineStopped&) {
  }
  return true;
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
    } else if (arg == "--config-reference") {
      std::printf("%s", daemon::config_reference());
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "gpuxd: unknown or incomplete argument '%s' (see gpuxd --help)\n",
                   arg.c_str());
      return 2;
    }
  }

  // The journal, the stores and the FIX logs hold the whole order flow:
  // everything gpuxd creates is its owner's alone (folders 0700, files 0600).
  ::umask(077);
  if (sodium_init() < 0) {  // FIX passwords: verified, and issued at onboarding
    std::fprintf(stderr, "gpuxd: cannot initialise libsodium\n");
    return 1;
  }
  daemon::DaemonConfig config;
  try {
    if (!config_file.empty()) config = daemon::load_config(config_file);
  } catch (const daemon::ConfigError& e) {
    std::fprintf(stderr, "gpuxd: %s\n", e.what());
    return 2;
  }
  if (!data_dir.empty()) config.pipeline.data_directory = data_dir;
  if (!config.pipeline.sync)
    std::fprintf(stderr,
                 "gpuxd: WARNING: sync = false: group commits are not fsynced, so a power loss "
                 "or kernel crash loses acknowledged orders; never use it for a real market\n");
  if (!config.cluster.log.servers.empty() && config.cluster.log.node.empty()) {
    std::fprintf(stderr, "gpuxd: cluster_nats needs a cluster_node name\n");
    return 2;
  }
  if (config.provider.port > 0 && config.provider.operator_token.empty()) {
    std::fprintf(stderr, "gpuxd: provider_port needs a provider_operator_token\n");
    return 2;
  }
  if (config.provider.tls_certificate.empty() != config.provider.tls_key.empty()) {
    std::fprintf(stderr, "gpuxd: provider_tls_certificate and provider_tls_key go together\n");
    return 2;
  }
  daemon::DiskWatch disk(config.pipeline.data_directory, config.disk);
  if (const std::string problem = disk.check_at_start(); !problem.empty()) {
    std::fprintf(stderr, "gpuxd: %s\n", problem.c_str());
    return 1;
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

  // In a cluster this node follows the log as a standby until it leads; only
  // then does it recover, open its gateways and take commands. Declared
  // before the pipeline, whose journal thread replicates through it.
  std::unique_ptr<daemon::ClusterNode> cluster;
  if (!config.cluster.log.servers.empty()) {
    const std::string& node = config.cluster.log.node;
    try {
      cluster = std::make_unique<daemon::ClusterNode>(config.cluster);
      const auto lost = [node](const std::string& why) {
        stop_for_storage_failure("the cluster lease", "node " + node, why,
                                 "a deposed leader acknowledges nothing more");
      };
      if (!cluster->follow_until_leader(config.pipeline, signals, lost)) {
        std::fprintf(stderr, "gpuxd: cluster node %s: stopped as a standby\n", node.c_str());
        return 0;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: cluster node %s: %s\n", node.c_str(), e.what());
      return 1;
    }
    config.pipeline.replicate = [&cluster](std::span<const matching::Command> commands,
                                           std::span<const std::string> origins,
                                           std::uint64_t chain_before,
                                           std::optional<std::uint64_t> state_hash) {
      cluster->replicate(commands, origins, chain_before, state_hash);
    };
  }

  // The FIX gateway sees every durable command, to report on its orders. It
  // exists before recovery: the pipeline replays to it what followed its
  // checkpoint, and the reports that produces are queued in its sessions.
  std::unique_ptr<fix::FixStateStore> fix_store;
  std::unique_ptr<fix::FixOrderEntry> fix_entry;
  std::unique_ptr<fix::Acceptor> acceptor;
  if (config.fix.port > 0) {
    try {
      const auto fix_state = config.pipeline.data_directory / "fix-state";
      fix_store = std::make_unique<fix::FixStateStore>(
          fix_state, fix::FixStateStore::Options{
                         .sync = config.pipeline.sync,
                         .on_failure =
                             [directory = fix_state.string()](const std::string& cause) {
                               stop_for_storage_failure(
                                   "the FIX session store", directory, cause,
                                   "clients resend what they were not answered");
                             },
                     });
      fix_entry = std::make_unique<fix::FixOrderEntry>(config.fix, *fix_store);
      fix::AcceptorOptions options;
      options.address = config.fix.address;
      options.port = config.fix.port;
      options.target_comp_id = config.fix.comp_id;
      options.data_dictionary = fix::fix_dictionary_path();
      options.log_directory = (config.pipeline.data_directory / "fix-log").string();
      options.max_messages_per_second = config.fix.max_messages_per_second;
      options.max_unsent_bytes = config.fix.max_unsent_bytes;
      options.max_connections = config.fix.max_connections;
      options.max_connections_per_address = config.fix.max_connections_per_address;
      options.logon_timeout_ms = config.fix.logon_timeout_ms;
      options.max_bytes_before_logon = config.fix.max_bytes_before_logon;
      options.max_message_bytes = config.fix.max_message_bytes;
      acceptor = std::make_unique<fix::Acceptor>(options, *fix_entry, *fix_store);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: cannot set up the FIX gateway: %s\n", e.what());
      return 1;
    }
    config.pipeline.observe_after = fix_entry->checkpoint_sequence();
  }
  // Public market data and /metrics: bound now, so that a taken port stops
  // gpuxd before it recovers; it follows every command from the first one
  // the pipeline publishes, and reads the journal's history once started.
  std::unique_ptr<market_data::Server> market;
  // What /metrics reads; filled in as each part starts, before the
  // service's thread does (market->start()).
  daemon::MetricSources metered;
  if (config.market_data.port > 0 || config.market_data.metrics_port > 0) {
    try {
      market = std::make_unique<market_data::Server>(
          config.market_data,
          [&metered](std::string& out) { daemon::write_metrics(out, metered); });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: %s\n", e.what());
      return 1;
    }
  }
  const matching::EngineConfig engine_as_configured = config.pipeline.engine;
  // The verification driver exists only once the pipeline does; until then
  // (recovery replays) it has nothing to answer.
  std::unique_ptr<provider::VerificationDriver> verification;
  std::atomic<provider::VerificationDriver*> verification_observer{nullptr};
  std::unique_ptr<provider::ProviderService> providers;
  std::atomic<provider::ProviderService*> provider_observer{nullptr};
  std::atomic<daemon::CalendarKeeper*> calendar_observer{nullptr};
  // Made once the journal is recovered; declared before the pipeline, so that
  // it outlives the publisher that calls it, however main() ends.
  std::unique_ptr<daemon::CalendarKeeper> calendar;
  config.pipeline.observer = [&fix_entry, &market, &verification_observer, &provider_observer,
                              &calendar_observer](const matching::Command& c,
                                                  std::span<const matching::Event> events,
                                                  std::string_view origin) {
    if (fix_entry) fix_entry->observe(c, events, origin);
    if (market) market->observe(c, events);
    if (auto* driver = verification_observer.load()) driver->observe(events);
    if (auto* service = provider_observer.load()) service->observe(c, events);
    if (auto* keeper = calendar_observer.load()) keeper->observe(events);
  };

  config.pipeline.on_failure =
      [directory = config.pipeline.data_directory.string()](const std::string& cause) {
        stop_for_storage_failure("the journal", directory, cause,
                                 "nothing after the last durable command is acknowledged");
      };

  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<Pipeline> pipeline;
  // However main() returns, the market-data service stops before what its
  // /metrics reads (the pipeline, the gateways, all declared above) is gone.
  struct StopMarket {
    std::unique_ptr<market_data::Server>& server;
    ~StopMarket() {
      if (server) server->stop();
    }
  } stop_market{market};
  try {
    pipeline = std::make_unique<Pipeline>(config.pipeline);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpuxd: cannot start from %s: %s\n",
                 config.pipeline.data_directory.c_str(), e.what());
    return 1;
  }
  const auto& recovered = pipeline->recovery();
  const matching::EngineSnapshot recovered_state = pipeline->take_recovered_state();
  // Before any new command: what the FIX gateway observes from here on is live.
  if (fix_entry) fix_entry->recovered(recovered_state);
  for (const std::string& skipped : recovered.skipped_snapshots)
    std::fprintf(stderr, "gpuxd: skipped %s\n", skipped.c_str());
  // The journal's market terms hold once it has them; the file only seeds a
  // new exchange.
  const matching::SetMarketTerms configured{.buyer_fee_ppm = config.pipeline.engine.buyer_fee_ppm,
                                            .delivery = config.pipeline.engine.delivery};
  if (const auto& journaled = recovered_state.market_terms) {
    if (*journaled != configured)
      std::fprintf(stderr,
                   "gpuxd: the journal's market terms (%s) differ from the configuration's (%s): "
                   "the journal's hold; the configuration only seeds a new exchange\n",
                   daemon::describe(*journaled).c_str(), daemon::describe(configured).c_str());
    config.pipeline.engine.buyer_fee_ppm = journaled->buyer_fee_ppm;
    config.pipeline.engine.delivery = journaled->delivery;
  } else if (recovered.last_sequence == 0) {
    // A new exchange: its terms are its first command.
    if (!seed(*pipeline, configured,
              "the configuration's market terms (" + daemon::describe(configured) + ")")) {
      pipeline->stop();
      return 2;
    }
  }
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
    verification = std::make_unique<provider::VerificationDriver>(config.verification, *pipeline);
    verification_observer = verification.get();
    // Challenges scheduled before a restart and not yet answered.
    const auto challenges = provider::pending_challenges(recovered_state);
    const std::vector<matching::Event> pending(challenges.begin(), challenges.end());
    verification->observe(pending);
    std::fprintf(stderr, "gpuxd: answering the challenges of %zu simulated providers (cpu-sim)\n",
                 config.verification.simulated.size());
  }
  if (config.provider.port > 0) {
    for (const auto& product : config.calendar.products)
      config.provider.products.emplace_back(product.gpu_class, product.region);
    try {
      providers = std::make_unique<provider::ProviderService>(
          config.provider, config.fix, config.verification.challenge_ms, recovered_state,
          matching::SetMarketTerms{.buyer_fee_ppm = config.pipeline.engine.buyer_fee_ppm,
                                   .delivery = config.pipeline.engine.delivery});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: cannot start the provider API on %s port %d: %s\n",
                   config.provider.address.c_str(), config.provider.port, e.what());
      pipeline->stop();
      return 1;
    }
    provider_observer = providers.get();
  }
  // The FIX seats are journaled too: the file's fix_client lines seed a
  // journal that has none (a new exchange, or one from before seats were
  // journaled); afterwards the journal's hold, and gpux admin changes them.
  // After the gateways that follow them exist.
  if (recovered_state.seats.empty()) {
    for (const auto& [sender, client] : config.fix.clients)
      if (!seed(*pipeline, matching::SetSeat{seat_of(sender, client)},
                "the configuration's fix_client " + sender)) {
        if (providers) providers->stop();
        pipeline->stop();
        return 2;
      }
  } else {
    for (const auto& [sender, client] : config.fix.clients) {
      const auto held = std::find_if(recovered_state.seats.begin(), recovered_state.seats.end(),
                                     [&](const auto& s) { return s.sender_comp_id == sender; });
      if (held == recovered_state.seats.end())
        std::fprintf(stderr,
                     "gpuxd: fix_client %s is not a seat in the journal: the configuration "
                     "only seeds a new exchange (create it with gpux admin seat-create)\n",
                     sender.c_str());
      else if (*held != seat_of(sender, client))
        std::fprintf(stderr,
                     "gpuxd: fix_client %s differs from the journal's seat: the journal's "
                     "holds (gpux admin seats lists it)\n",
                     sender.c_str());
    }
  }
  if (providers) {
    const auto registry = config.pipeline.data_directory / "providers.registry";
    try {
      if (const std::size_t imported = providers->import_registry(*pipeline, registry);
          imported > 0)
        std::fprintf(stderr, "gpuxd: imported %zu providers from %s into the journal\n", imported,
                     registry.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: cannot import %s: %s\n", registry.c_str(), e.what());
      providers->stop();
      pipeline->stop();
      return 1;
    }
  }
  calendar = std::make_unique<daemon::CalendarKeeper>(
      config.calendar, daemon::instrument_statuses(recovered_state), recovered_state.product_terms);
  calendar_observer = calendar.get();
  // The bootstrap lines before the products' terms, as check_bootstrap
  // tried them: an instrument they list is not held to a product's terms.
  if (recovered.last_sequence == 0 && !config.bootstrap.empty()) {
    try {
      for (const auto& body : config.bootstrap)
        for (const matching::Event& event : pipeline->execute(body).get())
          calendar->learn(body, event);
      std::fprintf(stderr, "gpuxd: bootstrapped %zu commands\n", config.bootstrap.size());
    } catch (const sequencer::PipelineStopped&) {
      // The journal failed: on_failure has said so and asked for the stop below.
    }
  }
  // The calendar's products' terms (fees, price band, verification profile)
  // are journaled too, seeded like the seats; gpux admin product-terms
  // changes them from a chosen sequence on.
  std::vector<matching::ProductTerms> configured_terms;
  for (const daemon::Product& product : config.calendar.products)
    configured_terms.push_back(product_terms_of(product, config.provider.profile_override));
  if (recovered_state.product_terms.empty() && recovered_state.pending_product_terms.empty()) {
    for (const matching::ProductTerms& terms : configured_terms)
      if (!seed(*pipeline, matching::SetProductTerms{terms},
                "the configuration's terms of product " + terms.gpu_class + "." + terms.region)) {
        if (providers) providers->stop();
        pipeline->stop();
        return 2;
      }
  } else {
    for (matching::ProductTerms from_file : configured_terms) {
      const auto held =
          std::find_if(recovered_state.product_terms.begin(), recovered_state.product_terms.end(),
                       [&](const auto& t) {
                         return t.gpu_class == from_file.gpu_class && t.region == from_file.region;
                       });
      if (held != recovered_state.product_terms.end())
        from_file.effective_from = held->effective_from;  // when is not what
      if (held == recovered_state.product_terms.end() || *held != from_file)
        std::fprintf(stderr,
                     "gpuxd: the configuration's terms of product %s.%s differ from the "
                     "journal's: the journal's hold (gpux admin product-terms shows them)\n",
                     from_file.gpu_class.c_str(), from_file.region.c_str());
    }
  }
  calendar->tick(*pipeline);
  // Accepting only now: a provider or operator that connected since the
  // port opened waits in its backlog until the seats, the imported
  // registry, the bootstrap, the products' terms and the calendar's
  // listings are in the journal (no operator change is overwritten by a
  // seed, no registration takes a bootstrap participant's id).
  if (providers) {
    providers->start(*pipeline);
    std::fprintf(stderr, "gpuxd: provider API on %s port %d (%s)\n",
                 config.provider.address.c_str(), providers->port(),
                 config.provider.tls_certificate.empty() ? "plain TCP" : "TLS");
  }

  if (market) {
    metered = {.pipeline = pipeline.get(),
               .fix_entry = fix_entry.get(),
               .acceptor = acceptor.get(),
               .providers = providers.get()};
    market->start(config.pipeline.data_directory, engine_as_configured, recovered_state,
                  recovered.last_sequence);
    if (market->port() > 0)
      std::fprintf(stderr, "gpuxd: market data on http://%s:%d/ (API /api/v1, page /)\n",
                   config.market_data.address.c_str(), market->port());
    if (market->metrics_port() > 0)
      std::fprintf(stderr, "gpuxd: metrics on http://%s:%d/metrics\n",
                   config.market_data.metrics_address.c_str(), market->metrics_port());
  }

  if (acceptor) {
    if (cluster)
      fix_entry->refuse_new_risk_when([&cluster]() -> std::optional<std::string> {
        if (!cluster->stalled()) return std::nullopt;
        return "the exchange cannot replicate its log (no quorum of nats-servers): not "
               "accepted, send it again later";
      });
    fix_entry->start(*pipeline, recovered_state);
    for (const auto& [client, input] : fix_entry->journaled_inputs())
      acceptor->expect_after(client, input.generation, input.msg_seq_num);
    try {
      acceptor->start();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuxd: cannot start the FIX acceptor on %s port %d: %s\n",
                   config.fix.address.c_str(), config.fix.port, e.what());
      if (verification) verification->stop();
      if (providers) providers->stop();
      pipeline->stop();
      return 1;
    }
    // The journal's seats: the recovered ones, or those just seeded.
    std::vector<matching::Seat> seats = recovered_state.seats;
    if (seats.empty())
      for (const auto& [sender, client] : config.fix.clients)
        seats.push_back(seat_of(sender, client));
    std::fprintf(stderr, "gpuxd: FIX 4.4 acceptor on %s port %d as %s, %zu seats\n",
                 config.fix.address.c_str(), config.fix.port, config.fix.comp_id.c_str(),
                 seats.size());
    std::string open_seats;
    for (const matching::Seat& seat : seats)
      if (seat.no_password && seat.enabled)
        open_seats += (open_seats.empty() ? "" : ", ") + seat.sender_comp_id;
    if (!open_seats.empty())
      std::fprintf(stderr,
                   "gpuxd: WARNING: FIX seats without a password (password=none): %s; anyone "
                   "who can reach %s port %d may trade as them\n",
                   open_seats.c_str(), config.fix.address.c_str(), config.fix.port);
  }

  // Below min_free_mb gpuxd stops as on SIGTERM, then exits 1.
  bool out_of_disk = false;
  const auto housekeeping = [&] {
    calendar->tick_if_due(*pipeline);
    if (!out_of_disk && disk.too_low_now()) {
      out_of_disk = true;
      ::kill(::getpid(), SIGTERM);
    }
  };
  daemon::FrameWriter out(STDOUT_FILENO);
  if (stdio) {
    proto::StreamMessage ready;
    ready.mutable_ready()->set_last_sequence(recovered.last_sequence);
    ready.mutable_ready()->set_state_hash(recovered.state_hash);
    ready.mutable_ready()->set_replayed(recovered.replayed);
    ready.mutable_ready()->set_snapshot_sequence(recovered.snapshot_sequence);
    out.write(ready);
    daemon::serve_stdio(*pipeline, signals, out, housekeeping);
  } else {
    std::fprintf(stderr, "gpuxd: ready; stop with SIGTERM or Ctrl-C\n");
    pollfd fd{signals, POLLIN, 0};
    while (!(fd.revents & POLLIN)) {
      ::poll(&fd, 1, daemon::kHousekeepingMs);
      housekeeping();
    }
  }

  if (acceptor) acceptor->stop();
  if (market) market->stop();
  if (verification) verification->stop();
  if (providers) providers->stop();
  // A leader without a quorum gives up what it could not replicate.
  if (cluster) cluster->stop_retrying();
  std::string failure;
  try {
    pipeline->stop();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (fix_entry) {
    // Every report in the sessions' stores first; and in any case the sender
    // ends before the acceptor it sends through is destroyed.
    fix_entry->stop_sending();
    try {
      if (failure.empty()) fix_entry->checkpoint();  // at the engine's snapshot: nothing to replay
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (cluster && failure.empty() && !storage_failed) cluster->step_down();
  if (!failure.empty()) {
    std::fprintf(stderr, "gpuxd: stopped after a storage failure in %s: %s\n",
                 config.pipeline.data_directory.c_str(), failure.c_str());
    return 1;
  }
  std::fprintf(stderr, "gpuxd: stopped %s after %llu commands this run\n",
               storage_failed ? "after the storage failure above" : "cleanly",
               static_cast<unsigned long long>(pipeline->stats().commands));
  return out_of_disk || storage_failed ? 1 : 0;
}
