// Test fixture for the engine: stamps commands, records their events, and
// offers short builders for the common commands.
#pragma once

#include <memory>
#include <vector>

#include "gpux/matching/engine.h"

namespace gpux::test {

using namespace gpux::matching;

struct Recorder : EventListener {
  std::vector<Event> events;
  void on_event(const Event& event) override { events.push_back(event); }
};

struct NullListener : EventListener {
  void on_event(const Event&) override {}
};

// The state hash of a fresh engine after `commands`.
std::uint64_t uninterrupted_hash(const std::vector<Command>& commands);

template <class T>
std::vector<T> only(const std::vector<Event>& events) {
  std::vector<T> out;
  for (const Event& e : events)
    if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
  return out;
}

// Tick 100, lots of 1, 1..1000 units, reference 2,000,000 +- 500,000.
InstrumentSpec standard_spec(InstrumentId id = 1);

// `spec` moved `hours` delivery hours later: specs moved by 0, 1, 2, ... are
// consecutive hours of one class in one region, as block orders need.
InstrumentSpec hours_later(InstrumentSpec spec, std::int64_t hours);

// Book implementations as types, for TEST_CASE_TEMPLATE.
struct LadderBook {
  static constexpr BookKind kind = BookKind::price_ladder;
};
struct ReferenceBookKind {
  static constexpr BookKind kind = BookKind::reference;
};
// TEST_CASE_TEMPLATE(name, B, BOTH_BOOKS) runs a test once per book.
#define BOTH_BOOKS ::gpux::test::LadderBook, ::gpux::test::ReferenceBookKind

class Market {
 public:
  explicit Market(BookKind kind = BookKind::price_ladder, EngineConfig config = {});

  // Applies one command and returns the events it caused.
  std::vector<Event> apply(const CommandBody& body);

  // An open standard instrument and funded participants with sell capacity:
  // participants 1..participants get `cash` and `capacity` units each.
  void open_standard(InstrumentId id = 1, int participants = 4, Money cash = 10'000'000'000,
                     Quantity capacity = 10'000);

  // Places an order; returns its id (0 if rejected) and keeps the events.
  OrderId place(ParticipantId who, Side side, Price price, Quantity quantity,
                OrderType type = OrderType::limit,
                SelfTradePrevention stp = SelfTradePrevention::cancel_incoming,
                InstrumentId instrument = 1);
  OrderId buy(ParticipantId who, Price price, Quantity quantity,
              OrderType type = OrderType::limit) {
    return place(who, Side::buy, price, quantity, type);
  }
  OrderId sell(ParticipantId who, Price price, Quantity quantity,
               OrderType type = OrderType::limit) {
    return place(who, Side::sell, price, quantity, type);
  }

  Engine& engine() { return *engine_; }
  const std::vector<Event>& last() const { return last_; }
  std::vector<Event> all() const { return recorder_.events; }

 private:
  Recorder recorder_;
  std::unique_ptr<Engine> engine_;
  SequenceNumber sequence_ = 0;
  std::vector<Event> last_;
};

}  // namespace gpux::test
