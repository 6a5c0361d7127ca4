// Protobuf round trips of every command and event a random stream produces,
// and refusal of malformed input.
#include "gpux/storage/codec.h"

#include <doctest/doctest.h>

#include "command_generator.h"

using namespace gpux::test;
namespace storage = gpux::storage;

TEST_CASE("commands and events survive the Protobuf round trip") {
  Recorder events;
  auto engine = make_engine({}, events);
  std::size_t kinds_seen = 0;
  std::vector<bool> seen(std::variant_size_v<Event>, false);
  for (const Command& c : generate_stream(31, 20'000)) {
    const auto encoded = storage::encode(c).SerializeAsString();
    gpux::proto::Command parsed;
    REQUIRE(parsed.ParseFromString(encoded));
    const Command decoded = storage::decode(parsed);
    REQUIRE(decoded.stamp == c.stamp);
    REQUIRE(storage::encode(decoded).SerializeAsString() == encoded);
    events.events.clear();
    engine->apply(decoded);
    for (const Event& e : events.events) {
      gpux::proto::Event p;
      REQUIRE(p.ParseFromString(storage::encode(e).SerializeAsString()));
      REQUIRE(storage::decode(p) == e);
      seen[e.index()] = true;
    }
  }
  for (bool s : seen)
    kinds_seen += s;
  CHECK(kinds_seen == seen.size());  // the stream exercised every kind of event
  const EngineSnapshot snapshot = engine->snapshot();
  CHECK(storage::decode(storage::encode(snapshot)) == snapshot);
}

TEST_CASE("malformed protobuf input is refused, not guessed") {
  gpux::proto::Command empty;
  CHECK_THROWS_AS(storage::decode(empty), storage::DecodeError);
  gpux::proto::Command bad_side;
  bad_side.mutable_new_order()->set_side(static_cast<gpux::proto::Side>(7));
  CHECK_THROWS_WITH_AS(storage::decode(bad_side), "invalid side 7", storage::DecodeError);
  gpux::proto::Event no_body;
  CHECK_THROWS_AS(storage::decode(no_body), storage::DecodeError);
}
