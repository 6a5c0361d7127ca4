// Steady-state trading allocates nothing per order: orders come from the
// pool, the id index only grows when the book reaches a new high, events are
// values. The one thing that grows with trading is the instrument's list of
// obligations (and its index) until settlement, by doubling.
// Counts every operator new in this test binary.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <new>
#include <random>

#include "market.h"

namespace {
std::atomic<std::size_t> allocations{0};
}

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

using namespace gpux::test;

namespace {

// Remembers recent order ids in a fixed ring, so it allocates nothing either.
struct IdRing : EventListener {
  std::array<OrderId, 4096> ids{};
  std::size_t count = 0;
  std::size_t trades = 0;
  void on_event(const Event& event) override {
    if (const auto* accepted = std::get_if<OrderAccepted>(&event))
      ids[count++ % ids.size()] = accepted->order;
    trades += std::holds_alternative<Trade>(event);
  }
};

}  // namespace

TEST_CASE("the price-ladder engine allocates nothing per order in steady state") {
  IdRing listener;
  auto engine = make_engine({}, listener, BookKind::price_ladder);
  SequenceNumber sequence = 0;
  const auto apply = [&](const CommandBody& body) {
    engine->apply(Command{{++sequence, 0}, body});
  };
  apply(ListInstrument{standard_spec(1)});
  apply(ChangeInstrumentState{1, InstrumentState::open});
  for (ParticipantId p = 1; p <= 50; ++p) {
    apply(AddParticipant{p});
    apply(AdjustCash{p, 1'000'000'000'000});
    apply(SetSellCapacity{p, 1, 1'000'000'000});
  }
  std::mt19937_64 random(1);
  const auto pick = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(random);
  };

  // Each round fills the book to about 2,000 orders, moves some, trades
  // into it with IOCs, and mass-cancels the rest.
  const auto round = [&] {
    for (int i = 0; i < 2'000; ++i) {
      const Side side = i % 2 ? Side::buy : Side::sell;
      const Price price = 2'000'000 + (side == Side::buy ? -100 : 100) * pick(1, 300);
      apply(NewOrder{0, static_cast<ParticipantId>(pick(1, 50)), 1, side, OrderType::limit,
                     SelfTradePrevention::cancel_resting, price, pick(1, 20)});
    }
    for (int i = 0; i < 1'000; ++i) {
      const OrderId order = listener.ids[static_cast<std::size_t>(pick(0, 4095))];
      const Price price = 2'000'000 + 100 * pick(-300, 300);
      // Most name another participant's order or a finished one: rejections count too.
      apply(ReplaceOrder{static_cast<ParticipantId>(pick(1, 50)), order, price, pick(1, 20)});
    }
    for (int i = 0; i < 500; ++i) {
      apply(NewOrder{0, static_cast<ParticipantId>(pick(1, 50)), 1, i % 2 ? Side::buy : Side::sell,
                     OrderType::immediate_or_cancel, SelfTradePrevention::cancel_resting,
                     2'000'000 + (i % 2 ? 100 : -100) * pick(0, 5), pick(1, 30)});
    }
    for (ParticipantId p = 1; p <= 50; ++p)
      apply(MassCancel{p, std::nullopt});
  };
  round();  // warm-up: the pool and the index reach their high-water marks
  round();
  const std::size_t before = allocations.load();
  REQUIRE(before > 0);  // the counter sees the engine's set-up allocations
  for (int r = 0; r < 5; ++r)
    round();
  // At most the obligation list and its index doubling.
  CHECK(allocations.load() - before <= 2 * std::bit_width(listener.trades));
  CHECK(listener.count > 10'000);
  CHECK(engine->check_invariants().empty());
}
