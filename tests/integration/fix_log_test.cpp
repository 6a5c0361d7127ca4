// The FIX session log on a real file system: QuickFIX FileLog's files and
// line format, message lines written in batches by one thread, events at
// once, nothing lost at the end. C++14, like every QuickFIX unit.
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

#include "fix_fixture.h"
#include "session_log.h"

using fixtest::ScratchDir;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path.c_str());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

long size_of(const std::string& path) {
  struct stat s;
  return ::stat(path.c_str(), &s) == 0 ? static_cast<long>(s.st_size) : -1;
}

// "YYYYMMDD-HH:MM:SS.nnnnnnnnn : " and then the text.
bool stamped(const std::string& line, const std::string& text) {
  if (line.size() != 30 + text.size() || line.compare(30, std::string::npos, text) != 0)
    return false;
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26})
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return false;
  return line[8] == '-' && line[11] == ':' && line[14] == ':' && line[17] == '.' &&
         line.compare(27, 3, " : ") == 0;
}

}  // namespace

TEST_CASE("FIX session log: FileLog's files and lines; events at once, messages in batches") {
  ScratchDir dir;
  const std::string prefix = dir.path + "/log/FIX.4.4-GPUX-ALICE.";
  const std::string messages = prefix + "messages.current.log";
  {
    gpux::fix::BufferedLogFactory factory(dir.path + "/log");
    FIX::Log* log = factory.create(FIX::SessionID("FIX.4.4", "GPUX", "ALICE"));
    log->onEvent("Created session");
    const auto events = lines_of(prefix + "event.current.log");  // before anything else
    REQUIRE(events.size() == 1);
    CHECK(stamped(events[0], "Created session"));

    // More than one batch's worth: written without waiting for the end.
    const std::string body(1000, 'x');
    for (int i = 0; i < 300; ++i)
      log->onIncoming(std::to_string(i) + body);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (size_of(messages) < 256 * 1024 && std::chrono::steady_clock::now() < deadline)
      ::poll(nullptr, 0, 5);
    CHECK(size_of(messages) >= 256 * 1024);

    for (int i = 300; i < 310; ++i)
      log->onOutgoing(std::to_string(i) + body);
    factory.destroy(log);  // writes the rest

    FIX::Log* global = factory.create();
    CHECK(factory.create() == global);  // one for the acceptor, as FileLog
    global->onEvent("Accepting connections");
    factory.destroy(global);
    global->onEvent("still open for its other user");
    factory.destroy(global);
  }
  const auto lines = lines_of(messages);
  REQUIRE(lines.size() == 310);
  for (int i = 0; i < 310; ++i) {
    CAPTURE(i);
    CHECK(stamped(lines[i], std::to_string(i) + std::string(1000, 'x')));
  }
  const auto global = lines_of(dir.path + "/log/GLOBAL.event.current.log");
  REQUIRE(global.size() == 2);
  CHECK(stamped(global[1], "still open for its other user"));
}
