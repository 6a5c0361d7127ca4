#include "command_generator.h"

namespace gpux::test {

std::vector<Command> generate_stream(std::uint64_t seed, std::size_t count) {
  Recorder events;
  auto engine = make_engine({}, events);
  CommandGenerator generator(seed);
  std::vector<Command> commands;
  const auto step = [&](const CommandBody& body) {
    events.events.clear();
    const auto sequence = static_cast<SequenceNumber>(commands.size() + 1);
    commands.push_back(Command{{sequence, static_cast<Nanoseconds>(sequence) * 1'000}, body});
    engine->apply(commands.back());
    for (const Event& e : events.events)
      generator.observe(e);
  };
  for (const CommandBody& body : generator.setup())
    step(body);
  for (std::size_t i = 0; i < count; ++i)
    step(generator.next());
  return commands;
}

}  // namespace gpux::test
