// gpuxd's in-process verification driver, end to end: a real daemon whose
// configuration simulates an honest and a dishonest provider answers every
// challenge of a delivery window with the CPU prover, records the outcomes,
// and settlement pays the honest provider and refunds and penalises the
// dishonest one; `gpux audit` reconciles the result.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "daemon_commands.h"
#include "gpux/storage/codec.h"
#include "gpux/storage/journal.h"
#include "gpuxd_process.h"
#include "market.h"
#include "temp_dir.h"

using namespace gpux::test;
namespace storage = gpux::storage;
namespace proto = gpux::proto;
namespace settlement = gpux::settlement;

namespace {

// The driver logs each outcome once it is durable: waits for all of them
// (bounded: every challenge falls within the next 9 seconds), then settles.
void settle_when_answered(GpuxdProcess& daemon, const std::filesystem::path& log,
                          std::size_t scheduled) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (count_lines(log, " and recorded") < scheduled &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(count_lines(log, " and recorded") == scheduled);
  execute(daemon, ChangeInstrumentState{1, InstrumentState::settled});
  daemon.terminate();
  CHECK(daemon.wait() == 0);
}

// With `restart`, gpuxd is SIGKILLed as soon as delivery starts, before any
// challenge is due, and the restarted daemon must answer them all.
void run_delivery(bool restart) {
  CAPTURE(restart);
  TempDir dir;
  const auto config = dir.path() / "gpux.conf";
  std::ofstream(config) << "challenges_per_obligation = 2\n"
                           "penalty_ppm = 500000\n"
                           "verification_challenge_ms = 100\n"
                           "participant = 1 cash=1000000000000\n"
                           "participant = 3 cash=1000000000000 collateral=500000000\n"
                           "participant = 4 cash=1000000000000 collateral=500000000\n"
                           "participant = 5 cash=1000000000000 collateral=500000000\n"
                           "simulate_provider = 3\n"
                           "simulate_provider = 4 skip_per_mille=300\n"
                           "simulate_provider = 5 devices=3\n";
  const auto data = dir.path() / "data";
  const auto log = dir.path() / "gpuxd.log";

  // Listed over the command stream, not in the configuration, so the
  // calendar leaves its states to the test; its delivery window is now (or,
  // with `restart`, due seconds after the kill).
  const std::int64_t now = unix_now();
  InstrumentSpec spec = standard_spec(1);
  spec.delivery_start = restart ? now + 6 : now;
  spec.delivery_end = spec.delivery_start + 3;
  spec.gate_closure = now;
  std::size_t scheduled = 0;
  {
    GpuxdProcess daemon(GPUXD_PATH, data, log, config);
    REQUIRE(daemon.read()->has_ready());
    execute(daemon, ListInstrument{spec});
    execute(daemon, ChangeInstrumentState{1, InstrumentState::open});
    for (ParticipantId provider : {3u, 4u, 5u}) {
      execute(daemon, SetSellCapacity{provider, 1, 100});
      execute(daemon, NewOrder{provider * 10, provider, 1, Side::sell, OrderType::limit,
                               SelfTradePrevention::cancel_incoming, 2'000'000, 5});
    }
    std::size_t trades = 0;
    for (const auto& e :
         execute(daemon, NewOrder{1, 1, 1, Side::buy, OrderType::limit,
                                  SelfTradePrevention::cancel_incoming, 2'000'000, 15}))
      trades += e.has_trade();
    REQUIRE(trades == 3);
    execute(daemon, ChangeInstrumentState{1, InstrumentState::gate_closed});
    for (const auto& e : execute(daemon, ChangeInstrumentState{1, InstrumentState::delivering}))
      scheduled += e.has_challenge_scheduled();
    REQUIRE(scheduled == 3 * 5 * 2);  // 3 providers x 5 units x 2 rounds
    if (restart) {
      daemon.kill_hard();
      daemon.wait();
      GpuxdProcess restarted(GPUXD_PATH, data, log, config);
      REQUIRE(restarted.read()->has_ready());
      settle_when_answered(restarted, log, scheduled);
    } else {
      settle_when_answered(daemon, log, scheduled);
    }
  }
  std::map<ParticipantId, ObligationSettled> settled;
  std::vector<ChallengeRecorded> recorded;
  {
    const auto journal = storage::Journal::open(data);
    journal->for_each_delivery_event([&](const Event& e) {
      if (const auto* s = std::get_if<ObligationSettled>(&e)) settled[s->provider] = *s;
      if (const auto* r = std::get_if<ChallengeRecorded>(&e)) recorded.push_back(*r);
    });
  }
  std::map<TradeId, ParticipantId> provider_of;
  for (const auto& [provider, s] : settled)
    provider_of[s.trade] = provider;
  for (const ChallengeRecorded& r : recorded) {
    CAPTURE(r.trade);
    CHECK(r.outcome != ChallengeOutcome::timed_out);
    if (r.outcome != ChallengeOutcome::failed) continue;
    // The one skipping work fails tile_mismatch (5); the one a device short
    // for 2 of its units fails them incomplete (10); the honest one, never.
    const ParticipantId provider = provider_of.at(r.trade);
    CHECK(provider != 3);
    CHECK(r.failure == (provider == 4 ? 5u : 10u));
  }
  REQUIRE(settled.size() == 3);
  CHECK(settled[3].passed == 10);
  CHECK(settled[3].figures.verified == 5);
  CHECK(settled[3].figures.penalty == 0);
  CHECK(settled[4].passed == 0);  // 30% of its tiles skipped: 88 openings find it
  CHECK(settled[4].figures.verified == 0);
  CHECK(settled[4].figures.refund == 10'000'000);
  CHECK(settled[4].figures.penalty == 5'000'000);
  // It sold 5 and runs 3: 3 of 5 units proven in each round, 3 paid; the
  // 2 units it could not prove are refunded and penalised.
  CHECK(settled[5].passed == 6);
  CHECK(settled[5].figures.verified == 3);
  CHECK(settlement::refund_for_unverified(settled[5].figures, 2'000'000) == 4'000'000);
  CHECK(settled[5].figures.penalty == 2'000'000);

  std::ostringstream audit;
  audit << GPUX_PATH << " audit --data-dir " << data.string() << " --config " << config.string()
        << " > " << (dir.path() / "audit.txt").string() << " 2>&1";
  CHECK(std::system(audit.str().c_str()) == 0);
}

}  // namespace

TEST_CASE("the verification driver proves each challenge on time; settlement follows the proofs") {
  run_delivery(false);
}

TEST_CASE("challenges scheduled before a SIGKILL are answered after the restart") {
  run_delivery(true);
}
