// Seeded random markets from first order to settlement, with random
// verification outcomes. After every command: the engine's invariants hold
// (the ledger sums to zero, nobody's available cash is negative), and an
// independent ledger rebuilt from the posting events alone agrees with every
// balance the engine holds. At the end, every settled obligation's money is
// accounted for, and each participant's cash is what its trades say.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "market.h"

using namespace gpux::test;
namespace settlement = gpux::settlement;
using settlement::AccountKind;

namespace {

constexpr ParticipantId kBuyers = 4;     // 1..4
constexpr ParticipantId kProviders = 3;  // 5..7
constexpr ParticipantId kLast = kBuyers + kProviders;
constexpr std::uint32_t kHoldPpm = 4'000;

struct Run {
  std::mt19937_64 random;
  Market m;
  settlement::Ledger ledger;
  std::map<ParticipantId, Money> deposits;
  std::map<ParticipantId, Money> collateral_posted;
  std::vector<ObligationSettled> settled;
  std::map<TradeId, Money> notional;  // per obligation, from ObligationCreated

  static EngineConfig config(std::uint64_t seed) {
    EngineConfig c;
    c.buyer_fee_ppm = kHoldPpm;
    c.delivery.challenges_per_obligation = 1 + static_cast<std::uint32_t>(seed % 5);
    c.delivery.penalty_ppm = static_cast<std::uint32_t>(seed * 97'531 % 1'000'000);
    c.delivery.challenge_seed = seed;
    return c;
  }

  explicit Run(std::uint64_t seed) : random(seed), m(BookKind::price_ladder, config(seed)) {}

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random); }

  std::vector<Event> apply(const CommandBody& body) {
    const auto events = m.apply(body);
    for (const Event& e : events) {
      if (const auto* p = std::get_if<LedgerPosting>(&e)) ledger.apply(p->posting);
      if (const auto* s = std::get_if<ObligationSettled>(&e)) settled.push_back(*s);
      if (const auto* o = std::get_if<ObligationCreated>(&e))
        notional[o->trade] = o->price * o->quantity;
      if (const auto* c = std::get_if<CashAdjusted>(&e)) deposits[c->participant] += c->amount;
      if (const auto* c = std::get_if<CollateralChanged>(&e))
        collateral_posted[c->participant] += c->amount;
    }
    check_ledger();
    return events;
  }

  void check_ledger() {
    const auto problems = m.engine().check_invariants();
    REQUIRE_MESSAGE(problems.empty(), problems.front());
    REQUIRE(ledger.sum() == 0);
    for (ParticipantId p = 1; p <= kLast; ++p)
      for (AccountKind kind : {AccountKind::available, AccountKind::reserved, AccountKind::escrow,
                               AccountKind::collateral, AccountKind::receivable})
        REQUIRE(ledger.balance({p, kind}) == m.engine().balance({p, kind}));
    for (AccountKind kind :
         {AccountKind::external, AccountKind::fees, AccountKind::penalties, AccountKind::clearing})
      REQUIRE(ledger.balance(settlement::exchange_account(kind)) ==
              m.engine().balance(settlement::exchange_account(kind)));
  }

  InstrumentSpec spec(InstrumentId id) {
    InstrumentSpec s = standard_spec(id);
    s.tick_size = 10'000;
    s.band_width = 200'000;
    s.max_quantity = 50;
    s.maker_fee_ppm = static_cast<std::uint32_t>(pick(0, kHoldPpm));
    s.taker_fee_ppm = static_cast<std::uint32_t>(pick(0, kHoldPpm));
    return s;
  }
};

void run_market(std::uint64_t seed) {
  Run r(seed);
  for (ParticipantId p = 1; p <= kLast; ++p) {
    r.apply(AddParticipant{p});
    r.apply(AdjustCash{p, 100'000'000 + 1'000'000 * r.pick(0, 400)});
  }
  for (InstrumentId i = 1; i <= 2; ++i) {
    r.apply(ListInstrument{r.spec(i)});
    r.apply(ChangeInstrumentState{i, InstrumentState::open});
    for (ParticipantId p = kBuyers + 1; p <= kLast; ++p) {
      r.apply(SetSellCapacity{p, i, r.pick(20, 200)});
      r.apply(PostCollateral{p, 1'000'000 * r.pick(0, 30)});
    }
  }
  // Trading, with withdrawals and collateral moves in between.
  for (int step = 0; step < 1'500; ++step) {
    const auto instrument = static_cast<InstrumentId>(r.pick(1, 2));
    const int roll = r.pick(0, 99);
    if (roll < 85) {
      const bool buy = r.pick(0, 1) == 0;
      const auto who =
          static_cast<ParticipantId>(buy ? r.pick(1, kBuyers) : r.pick(kBuyers + 1, kLast));
      r.apply(NewOrder{0, who, instrument, buy ? Side::buy : Side::sell,
                       r.pick(0, 4) == 0 ? OrderType::immediate_or_cancel : OrderType::limit,
                       SelfTradePrevention::cancel_incoming, 2'000'000 + 10'000 * r.pick(-8, 8),
                       r.pick(1, 12)});
    } else if (roll < 92) {
      r.apply(AdjustCash{static_cast<ParticipantId>(r.pick(1, kLast)), -1'000'000 * r.pick(1, 50)});
    } else {
      r.apply(PostCollateral{static_cast<ParticipantId>(r.pick(kBuyers + 1, kLast)),
                             1'000'000 * r.pick(-5, 5)});
    }
  }
  // Delivery: each provider is honest with its own probability.
  std::vector<ChallengeScheduled> challenges;
  for (InstrumentId i = 1; i <= 2; ++i) {
    r.apply(ChangeInstrumentState{i, InstrumentState::gate_closed});
    for (const Event& e : r.apply(ChangeInstrumentState{i, InstrumentState::delivering}))
      if (const auto* c = std::get_if<ChallengeScheduled>(&e)) challenges.push_back(*c);
  }
  const int honesty[] = {95, 60, 10};
  for (const ChallengeScheduled& c : challenges) {
    const int roll = r.pick(0, 99);
    if (roll >= 95) continue;  // left pending: times out at settlement
    const bool pass = roll < honesty[c.provider - kBuyers - 1];
    const auto events = r.apply(RecordChallengeOutcome{
        c.trade, c.index, pass ? ChallengeOutcome::passed : ChallengeOutcome::failed, 0});
    REQUIRE(only<ChallengeRecorded>(events).size() == 1);
  }
  for (InstrumentId i = 1; i <= 2; ++i)
    r.apply(ChangeInstrumentState{i, InstrumentState::settled});

  // Every obligation settled once, its escrow fully accounted for.
  REQUIRE(r.settled.size() == r.notional.size());
  REQUIRE(!r.settled.empty());
  std::map<ParticipantId, Money> paid_by_buyer, received_by_provider, penalised;
  Money fees = 0;
  for (const ObligationSettled& s : r.settled) {
    const Money notional = r.notional.at(s.trade);
    const Money escrow = notional + settlement::fee(notional, kHoldPpm);
    const auto& f = s.figures;
    CHECK(f.paid_to_provider + f.provider_fee + f.buyer_fee + f.refund == escrow);
    CHECK(f.verified + f.unverified == s.quantity);
    CHECK(f.verified == s.quantity * s.passed / s.challenges);
    paid_by_buyer[s.buyer] += escrow - f.refund;
    received_by_provider[s.provider] += f.paid_to_provider;
    penalised[s.provider] += f.penalty;
    fees += f.buyer_fee + f.provider_fee;
  }
  Money total_paid = 0, total_received = 0;
  for (const auto& [who, paid] : paid_by_buyer)
    total_paid += paid;
  for (const auto& [who, received] : received_by_provider)
    total_received += received;
  CHECK(total_paid == total_received + fees);  // buyers paid = providers received + fees
  CHECK(r.m.engine().balance(settlement::exchange_account(AccountKind::fees)) == fees);
  for (ParticipantId p = 1; p <= kLast; ++p) {
    const AccountView a = *r.m.engine().account(p);
    CHECK(a.reserved == 0);  // gate closure released every hold
    CHECK(a.committed == 0);
    CHECK(a.receivable == 0);
    CHECK(a.available() ==
          r.deposits[p] - r.collateral_posted[p] - paid_by_buyer[p] + received_by_provider[p]);
    CHECK(a.collateral == r.collateral_posted[p] - penalised[p]);
  }
}

}  // namespace

TEST_CASE("seeded markets settle with the ledger balanced after every command") {
  for (std::uint64_t seed = 1; seed <= 48; ++seed) {
    CAPTURE(seed);
    run_market(seed);
  }
}
