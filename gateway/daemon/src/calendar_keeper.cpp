#include "calendar_keeper.h"

#include <algorithm>
#include <cstdio>

namespace gpux::daemon {

std::vector<InstrumentStatus> instrument_statuses(const matching::EngineSnapshot& state) {
  std::vector<InstrumentStatus> statuses;
  statuses.reserve(state.instruments.size());
  for (const matching::InstrumentSnapshot& s : state.instruments)
    statuses.push_back({.id = s.spec.id,
                        .symbol = s.spec.symbol,
                        .state = s.state,
                        .gate_closure = s.spec.gate_closure,
                        .delivery_start = s.spec.delivery_start,
                        .delivery_end = s.spec.delivery_end});
  return statuses;
}

CalendarKeeper::CalendarKeeper(Calendar calendar, std::vector<InstrumentStatus> existing,
                               const std::vector<matching::ProductTerms>& in_effect)
    : calendar_(std::move(calendar)), instruments_(std::move(existing)) {
  for (const matching::ProductTerms& t : in_effect)
    terms_[{t.gpu_class, t.region}] = t;
}

void CalendarKeeper::observe(std::span<const matching::Event> events) {
  for (const matching::Event& event : events)
    if (const auto* set = std::get_if<matching::ProductTermsSet>(&event);
        set != nullptr && set->in_effect && set->terms) {
      std::lock_guard lock(terms_mutex_);
      terms_[{set->terms->gpu_class, set->terms->region}] = *set->terms;
    }
}

void CalendarKeeper::tick_if_due(sequencer::Pipeline& pipeline) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_tick_ < std::chrono::milliseconds(kCalendarTickMs)) return;
  last_tick_ = now;
  tick(pipeline);
}

void CalendarKeeper::tick(sequencer::Pipeline& pipeline) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  matching::InstrumentId next_id = 0;
  for (const auto& s : instruments_)
    next_id = std::max(next_id, s.id + 1);
  {
    // The journal's terms of each product, where it has them. A change that
    // takes effect between this and the listing has the listing refused
    // (spec_differs_from_product_terms): it is due again at the next tick.
    std::lock_guard lock(terms_mutex_);
    for (Product& product : calendar_.products)
      if (const auto t = terms_.find({product.gpu_class, product.region}); t != terms_.end()) {
        product.terms.maker_fee_ppm = t->second.maker_fee_ppm;
        product.terms.taker_fee_ppm = t->second.taker_fee_ppm;
        product.terms.reference_price = t->second.reference_price;
        product.terms.band_width = t->second.band_width;
      }
  }
  try {
    for (const auto& body : calendar_due(calendar_, instruments_, now, next_id))
      for (const matching::Event& event : pipeline.execute(body).get())
        learn(body, event);
  } catch (const sequencer::PipelineStopped&) {
    // The journal failed and gpuxd is stopping: what is due stays due.
  }
}

void CalendarKeeper::learn(const matching::CommandBody& body, const matching::Event& event) {
  if (std::holds_alternative<matching::InstrumentListed>(event)) {
    const matching::InstrumentSpec& spec = *std::get<matching::ListInstrument>(body).spec;
    instruments_.push_back({.id = spec.id,
                            .symbol = spec.symbol,
                            .state = matching::InstrumentState::listed,
                            .gate_closure = spec.gate_closure,
                            .delivery_start = spec.delivery_start,
                            .delivery_end = spec.delivery_end});
  } else if (const auto* changed = std::get_if<matching::InstrumentStateChanged>(&event)) {
    for (auto& s : instruments_)
      if (s.id == changed->instrument) s.state = changed->state;
  } else if (const auto* rejected = std::get_if<matching::CommandRejected>(&event)) {
    std::fprintf(stderr, "gpuxd: calendar command rejected: %s\n",
                 matching::to_string(rejected->reason));
  }
}

}  // namespace gpux::daemon
