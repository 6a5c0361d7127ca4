// gpuxd's part of /metrics: the pipeline's counters and histograms, the FIX
// gateway's sessions and refusals, the provider API's agents. Read from the
// market-data service's thread with atomics and small locks of their own,
// never the engine's or a gateway's order lock.
#pragma once

#include <string>

#include "fix_acceptor.h"
#include "gpux/fix/gateway.h"
#include "gpux/provider/service.h"
#include "gpux/sequencer/pipeline.h"

namespace gpux::daemon {

struct MetricSources {
  const sequencer::Pipeline* pipeline = nullptr;
  const fix::FixOrderEntry* fix_entry = nullptr;
  const fix::Acceptor* acceptor = nullptr;
  const provider::ProviderService* providers = nullptr;
};

// Appends the families of every source present, in the Prometheus text format.
void write_metrics(std::string& out, const MetricSources& sources);

}  // namespace gpux::daemon
