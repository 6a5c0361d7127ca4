#include "metrics.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "gpux/market_data/prometheus.h"

namespace gpux::daemon {

namespace {

using market_data::Samples;
constexpr auto one = market_data::unlabelled;

// Microseconds as Prometheus's seconds, exactly: "0.000128".
std::string seconds(std::uint64_t microseconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%llu.%06llu",
                static_cast<unsigned long long>(microseconds / 1'000'000),
                static_cast<unsigned long long>(microseconds % 1'000'000));
  return text;
}

// A histogram's cumulative buckets, then its sum and count; `in_seconds`:
// observed in microseconds, written in seconds (Prometheus's base unit).
void write_histogram(std::string& out, std::string_view name, std::string_view help,
                     const sequencer::Histogram& h, bool in_seconds) {
  const auto value = [&](std::uint64_t v) { return in_seconds ? seconds(v) : std::to_string(v); };
  market_data::write_family(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < sequencer::Histogram::kBuckets; ++b) {
    cumulative += h.counts[b];
    const bool last = b + 1 == sequencer::Histogram::kBuckets;
    out.append(name).append("_bucket{le=\"");
    out.append(last ? "+Inf" : value(sequencer::Histogram::upper_bound(b)));
    out.append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_sum ").append(value(h.sum)).append("\n");
  out.append(name).append("_count ").append(std::to_string(cumulative)).append("\n");
}

}  // namespace

void write_metrics(std::string& out, const MetricSources& sources) {
  using market_data::write_metric;
  if (const auto* pipeline = sources.pipeline) {
    const sequencer::PipelineStats s = pipeline->stats();
    write_metric(out, "gpux_commands_total", "counter",
                 "Commands sequenced, journaled and published", one(s.commands));
    write_metric(out, "gpux_group_commits_total", "counter", "Journal group commits",
                 one(s.group_commits));
    write_metric(out, "gpux_snapshots_total", "counter", "Engine snapshots written",
                 one(s.snapshots));
    write_metric(out, "gpux_journal_bytes_total", "counter",
                 "Bytes written to the journal by group commits, indexes included",
                 one(s.journal_bytes));
    write_histogram(out, "gpux_group_commit_commands", "Commands per journal group commit",
                    s.group_commit_commands, false);
    write_histogram(out, "gpux_journal_write_seconds", "Time of one group commit's write and fsync",
                    s.journal_write_us, true);
    write_histogram(out, "gpux_ack_latency_seconds",
                    "From a command's sequencing to its publication once durable (acknowledgement)",
                    s.ack_latency_us, true);
  }
  if (sources.acceptor)
    write_metric(out, "gpux_fix_sessions", "gauge", "FIX sessions logged on",
                 one(sources.acceptor->sessions_logged_on()));
  if (const auto* entry = sources.fix_entry) {
    Samples rejects;
    const auto counts = entry->rejects_by_code();
    for (std::size_t code = 0; code < counts.size(); ++code)
      if (counts[code] > 0)
        rejects.emplace_back(code + 1 == counts.size() ? std::string("code=\"other\"")
                                                       : "code=\"" + std::to_string(code) + "\"",
                             static_cast<std::int64_t>(counts[code]));
    write_metric(out, "gpux_fix_rejects_total", "counter",
                 "Orders, cancels and replaces refused over FIX, by OrdRejReason or CxlRejReason "
                 "code (docs/fix-spec.md)",
                 rejects);
  }
  if (sources.providers)
    write_metric(out, "gpux_provider_agents", "gauge", "Provider agents connected",
                 one(sources.providers->agents_connected()));
}

}  // namespace gpux::daemon
