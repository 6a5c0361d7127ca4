// Differential test: the fast price-ladder book and the simple reference book
// are fed the same seeded random command streams and must emit identical
// events and reach identical state hashes. After every command the engine's
// invariants are checked, and every order's remaining quantity is
// re-derived from the events alone (quantities are conserved).
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include "command_generator.h"
#include "market.h"

using namespace gpux::test;

namespace {

// Each order's remaining quantity, derived from events alone.
class QuantityLedger {
 public:
  // Returns a description of the first inconsistency, or empty.
  std::string observe(const Event& event) {
    if (const auto* accepted = std::get_if<OrderAccepted>(&event)) {
      remaining_[accepted->order] = accepted->quantity;
    } else if (const auto* rested = std::get_if<BlockOrderRested>(&event)) {
      resting_blocks_[rested->block] = rested->units * rested->hours;
    } else if (const auto* block = std::get_if<BlockOrderFilled>(&event)) {
      resting_blocks_.erase(block->block);
      block_units_[block->block] = block->units;
    } else if (const auto* fill = std::get_if<Trade>(&event)) {
      if (take_leg(fill->maker_order, *fill) != fill->maker_remaining) return "maker remaining";
      if (take_leg(fill->taker_order, *fill) != fill->taker_remaining) return "taker remaining";
    } else if (const auto* canceled = std::get_if<OrderCanceled>(&event)) {
      if (auto problem = end_block(canceled->order, canceled->canceled, canceled->remaining))
        return *problem;
      if (take(canceled->order, canceled->canceled) != canceled->remaining)
        return "cancel remaining";
    } else if (const auto* expired = std::get_if<OrderExpired>(&event)) {
      if (auto problem = end_block(expired->order, expired->expired, 0)) return *problem;
      if (take(expired->order, expired->expired) != 0) return "expiry left a remainder";
    } else if (const auto* replaced = std::get_if<OrderReplaced>(&event)) {
      if (!remaining_.contains(replaced->order)) return "replace of an unknown order";
      remaining_[replaced->order] = replaced->quantity;
    }
    return {};
  }

  // Every order the ledger believes open rests with that quantity, and no other.
  std::string compare(const Engine& engine, std::size_t resting) const {
    const std::vector<BlockView> blocks = engine.snapshot().blocks;
    if (blocks.size() != resting_blocks_.size()) return "resting block count differs from events";
    for (const BlockView& b : blocks)
      if (!resting_blocks_.contains(b.block) || resting_blocks_.at(b.block) != b.total())
        return "block " + std::to_string(b.block) + " differs from its events";
    std::size_t open = 0;
    for (const auto& [id, quantity] : remaining_) {
      if (quantity == 0) continue;
      ++open;
      const auto order = engine.order(id);
      if (!order || order->remaining != quantity)
        return "order " + std::to_string(id) + " differs from its events";
    }
    return open == resting ? std::string{} : "resting order count differs from events";
  }

  void forget_finished() {
    std::erase_if(remaining_, [](const auto& entry) { return entry.second == 0; });
    block_units_.clear();  // a block's legs all follow its BlockOrderFilled at once
    block_hours_.clear();
  }

 private:
  Quantity take(OrderId order, Quantity quantity) {
    auto it = remaining_.find(order);
    if (it == remaining_.end()) return -1;
    it->second -= quantity;
    return it->second;
  }

  // A side's remainder after a trade: an order's, or for a block's leg,
  // what the block still wants in that leg's hour (each hour starts at units).
  Quantity take_leg(OrderId order, const Trade& t) {
    const auto block = block_units_.find(order);
    if (block == block_units_.end()) return take(order, t.quantity);
    const auto hour = block_hours_.try_emplace({order, t.instrument}, block->second).first;
    return hour->second -= t.quantity;
  }

  // None when `order` is no resting block; else the problem with its end
  // (empty when none): a block ends whole.
  std::optional<std::string> end_block(OrderId order, Quantity ended, Quantity remaining) {
    const auto it = resting_blocks_.find(order);
    if (it == resting_blocks_.end()) return std::nullopt;
    const Quantity total = it->second;
    resting_blocks_.erase(it);
    return ended == total && remaining == 0 ? "" : "a block ended in part";
  }

  std::unordered_map<OrderId, Quantity> remaining_;
  std::unordered_map<OrderId, Quantity> resting_blocks_;  // units x hours each
  std::unordered_map<OrderId, Quantity> block_units_;
  std::map<std::pair<OrderId, InstrumentId>, Quantity> block_hours_;
};

struct RunSummary {
  std::size_t commands = 0;
  std::size_t trades = 0;
  std::size_t rejects = 0;
  std::size_t self_trade_cancels = 0;
  std::size_t blocks_filled = 0;
  std::size_t blocks_rested = 0;
  std::size_t rested_blocks_filled = 0;  // later, from the books or by a block
  std::size_t rested_blocks_ended = 0;   // cancelled or expired
  std::size_t block_vs_block_legs = 0;
};

void run_seed(std::uint64_t seed, std::size_t commands, RunSummary& summary) {
  CAPTURE(seed);
  Recorder fast_events;
  Recorder reference_events;
  auto fast = make_engine({}, fast_events, BookKind::price_ladder);
  auto reference = make_engine({}, reference_events, BookKind::reference);
  CommandGenerator generator(seed);
  QuantityLedger ledger;
  std::set<OrderId> rested;       // resting blocks
  std::set<OrderId> ever_rested;  // every block that rested

  SequenceNumber sequence = 0;
  const auto step = [&](const CommandBody& body) {
    const Command command{{++sequence, static_cast<Nanoseconds>(sequence) * 1'000}, body};
    CAPTURE(sequence);
    fast_events.events.clear();
    reference_events.events.clear();
    fast->apply(command);
    reference->apply(command);
    REQUIRE(!fast_events.events.empty());
    REQUIRE(fast_events.events == reference_events.events);
    for (const Event& event : fast_events.events) {
      generator.observe(event);
      const std::string problem = ledger.observe(event);
      REQUIRE_MESSAGE(problem.empty(), problem);
      summary.trades += std::holds_alternative<Trade>(event);
      summary.rejects += std::holds_alternative<CommandRejected>(event);
      if (const auto* c = std::get_if<OrderCanceled>(&event))
        summary.self_trade_cancels += c->reason == CancelReason::self_trade;
      if (const auto* filled = std::get_if<BlockOrderFilled>(&event)) {
        ++summary.blocks_filled;
        summary.rested_blocks_filled += rested.erase(filled->block);
      } else if (const auto* r = std::get_if<BlockOrderRested>(&event)) {
        ++summary.blocks_rested;
        rested.insert(r->block);
        ever_rested.insert(r->block);
      } else if (const auto* t = std::get_if<Trade>(&event)) {
        summary.block_vs_block_legs += ever_rested.contains(t->maker_order);
      } else if (const auto* c = std::get_if<OrderCanceled>(&event)) {
        summary.rested_blocks_ended += rested.erase(c->order);
      } else if (const auto* e = std::get_if<OrderExpired>(&event)) {
        summary.rested_blocks_ended += rested.erase(e->order);
      }
    }
    for (const std::string& problem : fast->check_invariants())
      FAIL(problem);
    if (sequence % 64 == 0) {
      REQUIRE(fast->state_hash() == reference->state_hash());
      const std::string problem = ledger.compare(*fast, fast->memory_usage().resting_orders);
      REQUIRE_MESSAGE(problem.empty(), problem);
      ledger.forget_finished();
    }
    ++summary.commands;
  };

  for (const CommandBody& body : generator.setup())
    step(body);
  for (std::size_t i = 0; i < commands; ++i)
    step(generator.next());
  REQUIRE(fast->state_hash() == reference->state_hash());
  REQUIRE(reference->check_invariants().empty());
}

std::size_t env_or(const char* name, std::size_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::strtoull(value, nullptr, 10) : fallback;
}

}  // namespace

TEST_CASE("fast and reference books agree on a million random commands") {
  // GPUX_DIFF_SEEDS / GPUX_DIFF_COMMANDS scale it up for a long run.
  const std::size_t seeds = env_or("GPUX_DIFF_SEEDS", 50);
  const std::size_t per_seed = env_or("GPUX_DIFF_COMMANDS", 20'000);
  RunSummary summary;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed)
    run_seed(seed, per_seed, summary);
  MESSAGE(summary.commands << " commands, " << summary.trades << " trades, " << summary.rejects
                           << " rejects, " << summary.self_trade_cancels << " self-trade cancels, "
                           << summary.blocks_filled << " blocks filled, " << summary.blocks_rested
                           << " rested, of which " << summary.rested_blocks_filled
                           << " filled later and " << summary.rested_blocks_ended
                           << " were cancelled or expired; " << summary.block_vs_block_legs
                           << " legs between blocks");
  CHECK(summary.commands >= seeds * per_seed);
  // The mix must exercise matching, rejection and self-trade prevention.
  CHECK(summary.trades > summary.commands / 20);
  CHECK(summary.rejects > summary.commands / 50);
  CHECK(summary.self_trade_cancels > summary.commands / 200);
  CHECK(summary.blocks_filled > summary.commands / 5'000);
  CHECK(summary.rested_blocks_filled > summary.commands / 20'000);
  CHECK(summary.rested_blocks_ended > summary.commands / 20'000);
  CHECK(summary.block_vs_block_legs > 0);
}

TEST_CASE("the same commands give the same state hash, and a different one differs") {
  const auto run = [](std::uint64_t seed, bool perturb) {
    Recorder events;
    auto engine = make_engine({}, events);
    CommandGenerator generator(seed);
    SequenceNumber sequence = 0;
    const auto step = [&](const CommandBody& body) {
      events.events.clear();
      engine->apply(Command{{++sequence, 0}, body});
      for (const Event& e : events.events)
        generator.observe(e);
    };
    for (const CommandBody& body : generator.setup())
      step(body);
    for (int i = 0; i < 5'000; ++i)
      step(generator.next());
    if (perturb) step(AdjustCash{1, 1});
    return engine->state_hash();
  };
  CHECK(run(7, false) == run(7, false));
  CHECK(run(7, false) != run(7, true));
  CHECK(run(7, false) != run(8, false));
}

TEST_CASE("a restored snapshot continues exactly like the uninterrupted engine") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    // The uninterrupted run, recording commands and each command's events.
    Recorder events;
    auto engine = make_engine({}, events);
    CommandGenerator generator(seed);
    std::vector<Command> commands;
    std::vector<std::size_t> first_event;  // index of each command's first event
    const auto step = [&](const CommandBody& body) {
      first_event.push_back(events.events.size());
      const auto sequence = static_cast<SequenceNumber>(commands.size() + 1);
      commands.push_back(Command{{sequence, static_cast<Nanoseconds>(sequence)}, body});
      engine->apply(commands.back());
      for (std::size_t i = first_event.back(); i < events.events.size(); ++i)
        generator.observe(events.events[i]);
    };
    for (const CommandBody& body : generator.setup())
      step(body);
    for (int i = 0; i < 4'000; ++i)
      step(generator.next());

    std::mt19937_64 random(seed);
    for (int cut = 0; cut < 4; ++cut) {
      const std::size_t at = random() % commands.size();
      CAPTURE(at);
      Recorder before;
      auto first = make_engine({}, before);
      for (std::size_t i = 0; i < at; ++i)
        first->apply(commands[i]);
      const EngineSnapshot snapshot = first->snapshot();
      const BookKind book = cut % 2 ? BookKind::reference : BookKind::price_ladder;
      Recorder after;
      auto restored = restore_engine({}, after, snapshot, book);
      REQUIRE(restored->state_hash() == first->state_hash());
      REQUIRE(restored->snapshot() == snapshot);
      for (std::size_t i = at; i < commands.size(); ++i)
        restored->apply(commands[i]);
      REQUIRE(restored->state_hash() == engine->state_hash());
      const std::vector<Event> expected(
          events.events.begin() + static_cast<std::ptrdiff_t>(first_event[at]),
          events.events.end());
      REQUIRE(after.events == expected);
    }
  }
}

TEST_CASE("an inconsistent snapshot is refused with the reason") {
  Recorder events;
  auto engine = make_engine({}, events);
  CommandGenerator generator(3);
  SequenceNumber sequence = 0;
  for (const CommandBody& body : generator.setup())
    engine->apply(Command{{++sequence, 0}, body});
  for (int i = 0; i < 2'000; ++i) {
    events.events.clear();
    engine->apply(Command{{++sequence, 0}, generator.next()});
    for (const Event& e : events.events)
      generator.observe(e);
  }
  EngineSnapshot snapshot = engine->snapshot();
  REQUIRE(!snapshot.accounts.empty());
  snapshot.accounts[1].view.reserved += 1;
  Recorder sink;
  CHECK_THROWS_WITH_AS(restore_engine({}, sink, snapshot),
                       doctest::Contains("reserved cash differs from open buys"),
                       std::invalid_argument);
}
