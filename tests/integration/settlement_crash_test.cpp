// Settlement survives SIGKILL: a real gpuxd trades, closes the gate, starts
// delivery, and is killed while challenge outcomes and the settlement itself
// are in flight. After a restart the client resends everything it was not
// sure of (outcomes and settlement are idempotent: repeats are refused), and
// `gpux audit` must reconcile the ledger store, every balance, the trade
// store and the settlements with a replay of the journal: no posting lost,
// none applied twice, every obligation settled exactly once.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "daemon_commands.h"
#include "gpux/storage/codec.h"
#include "gpux/storage/journal.h"
#include "gpuxd_process.h"
#include "market.h"
#include "raw_journal.h"
#include "run_command.h"
#include "temp_dir.h"

using namespace gpux::test;
namespace storage = gpux::storage;
namespace proto = gpux::proto;

namespace {

const char* const kConfig =
    "buyer_fee_ppm = 5000\n"
    "challenges_per_obligation = 3\n"
    "penalty_ppm = 300000\n"
    "participant = 1 cash=1000000000000\n"
    "participant = 2 cash=1000000000000\n"
    "participant = 3 cash=1000000000000 collateral=500000000\n"
    "participant = 4 cash=1000000000000 collateral=500000000\n"
    // Delivery in 2099: the calendar leaves it alone; the test drives the states.
    "instrument = 1 symbol=H100-SXM.us-east.20991231T10 class=H100-SXM region=us-east "
    "start=4102394400 tick=100 max=1000 reference=2000000 band=500000 "
    "maker_fee_ppm=1000 taker_fee_ppm=3000\n"
    "capacity = 3 instrument=1 units=100000\n"
    "capacity = 4 instrument=1 units=100000\n";

int run_audit(const std::filesystem::path& data, const std::filesystem::path& config,
              std::string& output) {
  auto result = run_command(std::string(GPUX_PATH) + " audit --data-dir " + data.string() +
                            " --config " + config.string());
  output += result.output;
  return result.status;
}

}  // namespace

TEST_CASE("SIGKILL while settling: no posting lost or applied twice; gpux audit reconciles") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 random(seed);
    TempDir dir;
    const auto config = dir.path() / "gpux.conf";
    std::ofstream(config) << kConfig;
    const auto data = dir.path() / "data";
    const auto log = dir.path() / "gpuxd.log";

    std::vector<proto::Command> in_flight;
    std::set<TradeId> trades;
    std::size_t units = 0;  // traded: one challenge per unit and round
    {
      GpuxdProcess daemon(GPUXD_PATH, data, log, config);
      REQUIRE(daemon.read()->has_ready());
      for (int i = 0; i < 200; ++i) {
        const bool buy = random() % 2 == 0;
        const auto who = static_cast<ParticipantId>(buy ? 1 + random() % 2 : 3 + random() % 2);
        for (const proto::Event& e :
             execute(daemon, NewOrder{static_cast<ClientOrderId>(i + 1), who, 1,
                                      buy ? Side::buy : Side::sell, OrderType::limit,
                                      SelfTradePrevention::cancel_incoming,
                                      2'000'000 + 100 * static_cast<Price>(random() % 21) - 1'000,
                                      1 + static_cast<Quantity>(random() % 10)}))
          if (e.has_trade()) {
            trades.insert(e.trade().trade());
            units += static_cast<std::size_t>(e.trade().quantity());
          }
      }
      REQUIRE(trades.size() > 20);
      execute(daemon, ChangeInstrumentState{1, InstrumentState::gate_closed});
      // Provider 4 skips the work: its challenges fail.
      for (const proto::Event& e :
           execute(daemon, ChangeInstrumentState{1, InstrumentState::delivering})) {
        if (!e.has_challenge_scheduled()) continue;
        const auto& c = e.challenge_scheduled();
        const bool honest = c.provider() == 3 ? random() % 10 != 0 : false;
        in_flight.push_back(command_of(RecordChallengeOutcome{
            c.trade(), c.index(), honest ? ChallengeOutcome::passed : ChallengeOutcome::failed,
            honest ? 0u : 4u}));
      }
      REQUIRE(in_flight.size() == 3 * units);
      in_flight.push_back(command_of(ChangeInstrumentState{1, InstrumentState::settled}));

      // Everything in flight at once; kill after a random number of acknowledgements.
      std::thread sender([&] {
        for (const proto::Command& c : in_flight)
          if (!daemon.send(c)) return;
      });
      const auto acks = random() % (in_flight.size() + 1);
      for (std::size_t i = 0; i < acks; ++i)
        REQUIRE(daemon.read());
      daemon.kill_hard();
      sender.join();
      daemon.wait();
    }
    {
      GpuxdProcess daemon(GPUXD_PATH, data, log, config);
      REQUIRE(daemon.read()->has_ready());
      // Resend all: what was journaled before the kill is refused, with the reason.
      for (const proto::Command& c : in_flight) {
        REQUIRE(daemon.send(c));
        const auto ack = daemon.read();
        REQUIRE(ack);
        for (const proto::Event& e : ack->acknowledgement().events()) {
          if (!e.has_command_rejected()) continue;
          const auto reason = e.command_rejected().reason();
          const bool repeat = reason == proto::CHALLENGE_ALREADY_RECORDED ||
                              reason == proto::INVALID_STATE_TRANSITION ||
                              reason == proto::UNKNOWN_OBLIGATION;
          CHECK_MESSAGE(repeat, proto::RejectReason_Name(reason));
        }
      }
      daemon.terminate();
      CHECK(daemon.wait() == 0);
    }

    std::map<TradeId, int> settled;
    {
      const auto journal = storage::Journal::open(data);
      journal->for_each_delivery_event([&](const Event& e) {
        if (const auto* s = std::get_if<ObligationSettled>(&e)) {
          ++settled[s->trade];
          CHECK((s->provider != 4 || s->figures.verified == 0));  // the dishonest provider
        }
      });
    }
    CHECK(settled.size() == trades.size());
    for (const auto& [trade, count] : settled)
      CHECK(count == 1);

    std::string output;
    CHECK_MESSAGE(run_audit(data, config, output) == 0, output);
    CHECK(output.find("reconciled") != std::string::npos);

    // The audit is not a rubber stamp: one lost posting (both its sides, so
    // the store still sums to zero), and it names the difference.
    REQUIRE(RawJournal(data).erase_first("ledger", "l"));
    std::string damaged;
    CHECK(run_audit(data, config, damaged) == 1);
    CHECK_MESSAGE(damaged.find("differ from the replay's") != std::string::npos, damaged);
    CHECK_MESSAGE(damaged.find("exchange external: ledger store") != std::string::npos, damaged);
  }
}
