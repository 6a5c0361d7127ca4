// Keeps the rolling listings of the product calendar up to date: looks at the
// wall clock and submits, like any client, the listings, gate closures,
// deliveries and settlements that are due (daemon/calendar.h decides which).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "gpux/daemon/calendar.h"
#include "gpux/matching/engine.h"
#include "gpux/sequencer/pipeline.h"

namespace gpux::daemon {

// How often the product calendar looks at the clock.
constexpr int kCalendarTickMs = 1000;

// The instruments of a recovered engine, as the calendar tracks them.
std::vector<InstrumentStatus> instrument_statuses(const matching::EngineSnapshot& state);

class CalendarKeeper {
 public:
  // `in_effect`: the product terms of the recovered engine, which the hours
  // it lists carry instead of the configuration's.
  CalendarKeeper(Calendar calendar, std::vector<InstrumentStatus> existing,
                 const std::vector<matching::ProductTerms>& in_effect);

  // Every durable command's events (the pipeline's observer, any thread):
  // product terms taking effect are what the next listings carry.
  void observe(std::span<const matching::Event> events);

  // Ticks when a second has passed since the last tick, however busy the
  // command stream keeps the caller.
  void tick_if_due(sequencer::Pipeline& pipeline);

  // Submits whatever the clock makes due, and learns from the events.
  void tick(sequencer::Pipeline& pipeline);

  // Instruments listed through bootstrap commands count too.
  void learn(const matching::CommandBody& body, const matching::Event& event);

 private:
  Calendar calendar_;
  std::vector<InstrumentStatus> instruments_;
  std::mutex terms_mutex_;  // observe() runs on the publisher thread
  std::map<std::pair<std::string, std::string>, matching::ProductTerms> terms_;
  std::chrono::steady_clock::time_point last_tick_ = std::chrono::steady_clock::now();
};

}  // namespace gpux::daemon
