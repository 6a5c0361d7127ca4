// The Prometheus text format, as /metrics writes it: gpuxd's families and
// the market-data service's own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gpux::market_data {

// Samples of one family: labels ("" for none, else `name="value"` pairs,
// values escaped by the caller's choice of text) and value.
using Samples = std::vector<std::pair<std::string, std::int64_t>>;

// One sample without labels.
Samples unlabelled(std::uint64_t value);

// A family's HELP and TYPE lines.
void write_family(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help);

// A family, then one line per sample.
void write_metric(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help,
                  std::span<const std::pair<std::string, std::int64_t>> samples);

}  // namespace gpux::market_data
