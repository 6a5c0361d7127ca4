// The gpux GPU-hour index: one value per GPU class x region (a product)
// every `interval_s` seconds, from the fills of every delivery hour of that
// product in the interval before. The methodology, and how to reproduce a
// fixing from the journal, is docs/index.md; this is its only implementation,
// shared by gpuxd's market-data service and `gpux index`.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpux/matching/types.h"

namespace gpux::market_data {

struct Product {
  std::string gpu_class;
  std::string region;
  std::string name() const { return gpu_class + "." + region; }  // "H100-SXM.us-east"
  auto operator<=>(const Product&) const = default;
};

// "CLASS.REGION" split at its first '.'; none without both parts.
std::optional<Product> parse_product(std::string_view name);

struct IndexRule {
  // Fixings at every multiple of this many seconds of UTC, each over the
  // interval before it. Divides 86400.
  std::int64_t interval_s = 3600;
  // The GPU-hours an interval must trade for a fixing from trades alone.
  matching::Quantity min_volume = 8;
  // At most this many fixings a product are kept (the newest): a bound on
  // the service's memory, however short the interval; 0: all (gpux index).
  std::size_t fixings_kept = 100'000;
};

// Why a fixing has its value.
enum class FixingBasis : std::uint8_t {
  trades,       // the volume-weighted price of at least min_volume GPU-hours
  quotes,       // too few trades: the mid of the best bid and offer (see Quote)
  thin_trades,  // too few trades and no two-sided quote: those trades' VWAP
  none,         // nothing traded and nothing quoted: no value
};
const char* to_string(FixingBasis basis);

// A two-sided quote, from the open instrument nearest delivery that has
// both a bid and an offer: its best prices per unit, and its GPUs per unit
// (the mid is divided by them once, rounding down once).
struct Quote {
  matching::Price bid = 0;
  matching::Price offer = 0;
  std::uint32_t gpus_per_unit = 1;
};

struct Fixing {
  Product product;
  matching::Nanoseconds at = 0;  // the interval's end, a multiple of interval_s
  FixingBasis basis = FixingBasis::none;
  matching::Price value = 0;      // micro-USD per GPU-hour; 0 with basis none
  matching::Quantity volume = 0;  // GPU-hours traded in the interval
  std::uint32_t trades = 0;       // fills in the interval
  bool operator==(const Fixing&) const = default;
};

class IndexCalculator {
 public:
  explicit IndexCalculator(IndexRule rule);
  const IndexRule& rule() const { return rule_; }

  // A product fixes from the first interval that ends after it is known.
  void know(const Product& product);
  // A fill at `time` (not before the previous call's): `notional` is price x
  // units in micro-USD, `gpu_hours` units x GPUs per unit.
  void add_fill(const Product& product, matching::Money notional, matching::Quantity gpu_hours);
  // Every fixing due at or before `now`, for every known product, oldest
  // first; `quote` gives a product's quote as the market stands. The first
  // call only starts the clock: the first fixing is the first interval end
  // after it.
  std::vector<Fixing> publish_due(matching::Nanoseconds now,
                                  const std::function<std::optional<Quote>(const Product&)>& quote);
  const std::vector<Fixing>& fixings(const Product& product) const;
  std::vector<Product> products() const;

 private:
  struct Window {
    __int128 notional = 0;
    matching::Quantity gpu_hours = 0;
    std::uint32_t fills = 0;
  };
  Fixing fix(const Product& product, const Window& window, matching::Nanoseconds at,
             const std::optional<Quote>& quote) const;

  IndexRule rule_;
  matching::Nanoseconds next_ = -1;  // the next fixing instant; -1 before the first call
  std::map<Product, Window> open_;   // every known product, this interval's fills
  std::map<Product, std::vector<Fixing>> published_;
};

}  // namespace gpux::market_data
