// The product calendar: which instruments should exist and in which state at
// a given wall-clock time. Every product (GPU class x region) is listed and
// opened for each delivery hour from the current one to the horizon; gates
// close `gate_lead` seconds before delivery; delivery starts on the hour;
// settlement follows `settle_after` seconds after the hour ends, so that
// verification outcomes still in flight arrive first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gpux/matching/commands.h"

namespace gpux::daemon {

struct Product {
  std::string gpu_class;  // e.g. "H100-SXM"
  std::string region;     // e.g. "us-east"
  // Trading terms copied into every hour's spec (id, symbol, class, region
  // and times are filled in per hour).
  matching::InstrumentSpec terms;
  std::int64_t gate_lead = 300;  // seconds before delivery start
};

struct Calendar {
  std::vector<Product> products;
  int horizon_hours = 0;           // 0: no rolling listings
  std::int64_t settle_after = 60;  // seconds after delivery ends
};

struct InstrumentStatus {
  matching::InstrumentId id = 0;
  std::string symbol;
  matching::InstrumentState state = matching::InstrumentState::listed;
  std::int64_t gate_closure = 0;    // Unix seconds
  std::int64_t delivery_start = 0;  // Unix seconds
  std::int64_t delivery_end = 0;    // Unix seconds
};

// "H100-SXM.us-east.20261122T15" for the hour starting at `hour_start`.
std::string hourly_symbol(const Product& product, std::int64_t hour_start);

// The commands that bring `existing` up to date at `now` (Unix seconds): new
// listings (opened at once) for hours not yet listed whose gate is still
// open, and for every instrument the gate closure, delivery start and
// settlement the clock has passed (also those missed while the daemon was down). New
// instruments take ids from `next_id` upwards, hour by hour, in product order.
std::vector<matching::CommandBody> calendar_due(const Calendar& calendar,
                                                const std::vector<InstrumentStatus>& existing,
                                                std::int64_t now, matching::InstrumentId next_id);

}  // namespace gpux::daemon
