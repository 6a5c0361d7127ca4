#include "gpux/market_data/prometheus.h"

namespace gpux::market_data {

Samples unlabelled(std::uint64_t value) {
  return {{"", static_cast<std::int64_t>(value)}};
}

void write_family(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void write_metric(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help,
                  std::span<const std::pair<std::string, std::int64_t>> samples) {
  write_family(out, name, type, help);
  for (const auto& [labels, value] : samples) {
    out.append(name);
    if (!labels.empty()) out.append("{").append(labels).append("}");
    out.append(" ").append(std::to_string(value)).append("\n");
  }
}

}  // namespace gpux::market_data
