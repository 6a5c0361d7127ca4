// The product calendar: rolling listings and clock-driven state changes.
#include "gpux/daemon/calendar.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "market.h"

using namespace gpux::test;
using gpux::daemon::Calendar;
using gpux::daemon::calendar_due;
using gpux::daemon::InstrumentStatus;
using gpux::daemon::Product;

namespace {

constexpr std::int64_t kHour = 1'795'446'000;  // 2026-11-23T15:00Z, on the hour

Calendar two_products(int horizon) {
  Calendar calendar;
  calendar.horizon_hours = horizon;
  for (const char* region : {"us-east", "eu-west"}) {
    Product p;
    p.gpu_class = "H100-SXM";
    p.region = region;
    p.terms = standard_spec(0);
    calendar.products.push_back(p);
  }
  return calendar;
}

}  // namespace

TEST_CASE("hours are listed and opened up to the horizon, skipping closed gates") {
  // 15:58: the 16:00 gate (15:55) has closed; 17:00 and 18:00 are listable.
  const auto due = calendar_due(two_products(3), {}, kHour + 58 * 60, 10);
  REQUIRE(due.size() == 8);
  const auto& first = *std::get<ListInstrument>(due[0]).spec;
  CHECK(first.id == 10);
  CHECK(first.symbol == "H100-SXM.us-east.20261123T17");
  CHECK(first.delivery_start == kHour + 2 * 3600);
  CHECK(first.delivery_end == kHour + 3 * 3600);
  CHECK(first.gate_closure == kHour + 2 * 3600 - 300);
  CHECK(first.tick_size == standard_spec(0).tick_size);
  CHECK(std::get<ChangeInstrumentState>(due[1]) ==
        ChangeInstrumentState{10, InstrumentState::open});
  CHECK(std::get<ListInstrument>(due[2]).spec->symbol == "H100-SXM.eu-west.20261123T17");
  CHECK(std::get<ListInstrument>(due[6]).spec->symbol == "H100-SXM.eu-west.20261123T18");
  CHECK(std::get<ListInstrument>(due[6]).spec->id == 13);
}

TEST_CASE("listed hours are not listed again; the clock closes gates and starts delivery") {
  const std::vector<InstrumentStatus> existing = {
      {1, "H100-SXM.us-east.20261123T17", InstrumentState::open, kHour + 2 * 3600 - 300,
       kHour + 2 * 3600, kHour + 3 * 3600},
      {2, "H100-SXM.eu-west.20261123T17", InstrumentState::open, kHour + 2 * 3600 - 300,
       kHour + 2 * 3600, kHour + 3 * 3600},
  };
  // 17:01, the daemon was down through the gate closure and the delivery start.
  const auto due = calendar_due(two_products(1), existing, kHour + 2 * 3600 + 60, 3);
  std::vector<ChangeInstrumentState> changes;
  std::vector<std::string> listed;
  for (const auto& body : due) {
    if (const auto* c = std::get_if<ChangeInstrumentState>(&body)) changes.push_back(*c);
    if (const auto* l = std::get_if<ListInstrument>(&body)) listed.push_back(l->spec->symbol);
  }
  CHECK(listed ==
        std::vector<std::string>{"H100-SXM.us-east.20261123T18", "H100-SXM.eu-west.20261123T18"});
  for (InstrumentId id : {1u, 2u}) {
    CHECK(std::count(changes.begin(), changes.end(),
                     ChangeInstrumentState{id, InstrumentState::gate_closed}) == 1);
    CHECK(std::count(changes.begin(), changes.end(),
                     ChangeInstrumentState{id, InstrumentState::delivering}) == 1);
  }
  CHECK(calendar_due(two_products(0), existing, kHour, 3).empty());
}

TEST_CASE("settlement comes settle_after seconds after the delivery hour, not before") {
  const std::vector<InstrumentStatus> delivering = {
      {1, "H100-SXM.us-east.20261123T17", InstrumentState::delivering, kHour + 2 * 3600 - 300,
       kHour + 2 * 3600, kHour + 3 * 3600},
  };
  Calendar calendar = two_products(0);
  calendar.settle_after = 90;
  CHECK(calendar_due(calendar, delivering, kHour + 3 * 3600 + 89, 3).empty());
  const auto due = calendar_due(calendar, delivering, kHour + 3 * 3600 + 90, 3);
  REQUIRE(due.size() == 1);
  CHECK(std::get<ChangeInstrumentState>(due[0]) ==
        ChangeInstrumentState{1, InstrumentState::settled});
}

TEST_CASE("everything the calendar emits, a real engine accepts, hour after hour") {
  Market m;
  std::vector<InstrumentStatus> known;
  InstrumentId next = 0;
  for (std::int64_t now = kHour; now < kHour + 6 * 3600; now += 600) {
    for (const auto& body : calendar_due(two_products(4), known, now, next)) {
      const auto events = m.apply(body);
      REQUIRE(only<CommandRejected>(events).empty());
      if (const auto* l = std::get_if<ListInstrument>(&body)) {
        known.push_back({l->spec->id, l->spec->symbol, InstrumentState::listed,
                         l->spec->gate_closure, l->spec->delivery_start, l->spec->delivery_end});
        next = l->spec->id + 1;
      } else if (const auto* c = std::get_if<ChangeInstrumentState>(&body)) {
        for (auto& k : known)
          if (k.id == c->instrument) k.state = c->state;
      }
    }
  }
  CHECK(next == 2 * 9);  // hours 16:00 .. 00:00 for two products
  CHECK(m.engine().instrument_state(0) == InstrumentState::settled);
  CHECK(m.engine().instrument_state(next - 1) == InstrumentState::open);
}
