// Conversion between the engine's plain types and their Protobuf form: the
// edge where matching/ meets bytes. Decoding validates enums and presence and
// throws DecodeError rather than guessing.
#pragma once

#include <stdexcept>
#include <string>

#include "engine.pb.h"
#include "gpux/matching/commands.h"
#include "gpux/matching/engine.h"
#include "gpux/matching/events.h"
#include "journal.pb.h"

namespace gpux::storage {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

proto::Command encode(const matching::Command& command);
matching::Command decode(const proto::Command& command);

proto::Event encode(const matching::Event& event);
matching::Event decode(const proto::Event& event);

proto::Snapshot encode(const matching::EngineSnapshot& snapshot);
matching::EngineSnapshot decode(const proto::Snapshot& snapshot);

}  // namespace gpux::storage
