// Challenges of delivering instruments with no outcome yet: after a restart,
// the verification driver and the provider API answer them again.
#pragma once

#include <vector>

#include "gpux/matching/engine.h"
#include "gpux/matching/events.h"

namespace gpux::provider {

// Their times are drawn again with the seed each instrument drew them with
// when its delivery started, whatever the terms say now.
std::vector<matching::ChallengeScheduled> pending_challenges(const matching::EngineSnapshot& state);

}  // namespace gpux::provider
