#include "gpux/daemon/calendar.h"

#include <algorithm>
#include <ctime>
#include <map>

namespace gpux::daemon {

using namespace gpux::matching;

std::string hourly_symbol(const Product& product, std::int64_t hour_start) {
  const std::time_t t = static_cast<std::time_t>(hour_start);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char hour[16];
  std::strftime(hour, sizeof hour, "%Y%m%dT%H", &utc);
  return product.gpu_class + "." + product.region + "." + hour;
}

std::vector<CommandBody> calendar_due(const Calendar& calendar,
                                      const std::vector<InstrumentStatus>& existing,
                                      std::int64_t now, InstrumentId next_id) {
  std::vector<CommandBody> due;
  std::map<std::string, InstrumentStatus> all;
  for (const InstrumentStatus& s : existing)
    all[s.symbol] = s;

  const std::int64_t this_hour = now - now % 3600;
  const std::int64_t horizon = now + 3600 * std::int64_t{std::max(calendar.horizon_hours, 0)};
  for (std::int64_t start = this_hour; start < horizon; start += 3600) {
    for (const Product& product : calendar.products) {
      InstrumentSpec spec = product.terms;
      spec.symbol = hourly_symbol(product, start);
      spec.gpu_class = product.gpu_class;
      spec.region = product.region;
      spec.delivery_start = start;
      spec.delivery_end = start + 3600;
      spec.gate_closure = start - product.gate_lead;
      if (all.contains(spec.symbol) || now >= spec.gate_closure) continue;
      spec.id = next_id++;
      due.push_back(ListInstrument{spec});
      due.push_back(ChangeInstrumentState{spec.id, InstrumentState::open});
    }
  }
  for (const auto& entry : all) {
    const InstrumentStatus& s = entry.second;
    InstrumentState state = s.state;
    const auto step = [&](InstrumentState to) {
      due.push_back(ChangeInstrumentState{s.id, to});
      state = to;
    };
    if (state == InstrumentState::open && now >= s.gate_closure) step(InstrumentState::gate_closed);
    if (state == InstrumentState::gate_closed && now >= s.delivery_start)
      step(InstrumentState::delivering);
    if (state == InstrumentState::delivering && now >= s.delivery_end + calendar.settle_after)
      step(InstrumentState::settled);
  }
  return due;
}

}  // namespace gpux::daemon
