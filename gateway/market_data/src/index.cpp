#include "gpux/market_data/index.h"

#include <cassert>

namespace gpux::market_data {

using matching::Nanoseconds;

namespace {

constexpr Nanoseconds kSecond = 1'000'000'000;

}  // namespace

std::optional<Product> parse_product(std::string_view name) {
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return std::nullopt;
  return Product{.gpu_class = std::string(name.substr(0, dot)),
                 .region = std::string(name.substr(dot + 1))};
}

const char* to_string(FixingBasis basis) {
  switch (basis) {
    case FixingBasis::trades:
      return "trades";
    case FixingBasis::quotes:
      return "quotes";
    case FixingBasis::thin_trades:
      return "thin_trades";
    case FixingBasis::none:
      return "none";
  }
  return "?";
}

IndexCalculator::IndexCalculator(IndexRule rule) : rule_(rule) {
  assert(rule_.interval_s > 0 && 86400 % rule_.interval_s == 0);
  assert(rule_.min_volume > 0);
}

void IndexCalculator::know(const Product& product) {
  open_.try_emplace(product);
}

void IndexCalculator::add_fill(const Product& product, matching::Money notional,
                               matching::Quantity gpu_hours) {
  assert(notional >= 0 && gpu_hours > 0);
  Window& window = open_[product];
  window.notional += notional;
  window.gpu_hours += gpu_hours;
  ++window.fills;
}

Fixing IndexCalculator::fix(const Product& product, const Window& window, Nanoseconds at,
                            const std::optional<Quote>& quote) const {
  Fixing fixing{.product = product, .at = at, .volume = window.gpu_hours, .trades = window.fills};
  const auto vwap = [&] {
    return static_cast<matching::Price>(window.notional / window.gpu_hours);  // rounded down
  };
  if (window.gpu_hours >= rule_.min_volume) {
    fixing.basis = FixingBasis::trades;
    fixing.value = vwap();
  } else if (quote) {
    fixing.basis = FixingBasis::quotes;
    fixing.value =
        (quote->bid + quote->offer) / (2 * static_cast<matching::Price>(quote->gpus_per_unit));
  } else if (window.gpu_hours > 0) {
    fixing.basis = FixingBasis::thin_trades;
    fixing.value = vwap();
  }
  return fixing;
}

std::vector<Fixing> IndexCalculator::publish_due(
    Nanoseconds now, const std::function<std::optional<Quote>(const Product&)>& quote) {
  const Nanoseconds interval = rule_.interval_s * kSecond;
  std::vector<Fixing> out;
  if (next_ < 0) {
    next_ = (now / interval + 1) * interval;
    return out;
  }
  while (next_ <= now) {
    for (auto& [product, window] : open_) {
      Fixing fixing = fix(product, window, next_, quote(product));
      auto& kept = published_[product];
      kept.push_back(fixing);
      if (rule_.fixings_kept > 0 && kept.size() > rule_.fixings_kept)
        kept.erase(kept.begin(),
                   kept.begin() + static_cast<std::ptrdiff_t>(kept.size() - rule_.fixings_kept));
      out.push_back(std::move(fixing));
      window = {};
    }
    next_ += interval;
  }
  return out;
}

const std::vector<Fixing>& IndexCalculator::fixings(const Product& product) const {
  static const std::vector<Fixing> none;
  const auto found = published_.find(product);
  return found == published_.end() ? none : found->second;
}

std::vector<Product> IndexCalculator::products() const {
  std::vector<Product> out;
  for (const auto& [product, window] : open_)
    out.push_back(product);
  return out;
}

}  // namespace gpux::market_data
