// MessageFramer: FIX messages cut out of a byte stream however it is split,
// garbage dropped, and no message held past the limit.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "message_framer.h"

using gpux::fix::MessageFramer;

namespace {

// A well-framed message (the framer checks framing, not checksums).
std::string fix_message(const std::string& body) {
  return "8=FIX.4.4\x01"
         "9=" +
         std::to_string(body.size()) + "\x01" + body + "10=000\x01";
}

std::vector<std::string> drain(MessageFramer& framer) {
  std::vector<std::string> out;
  std::string message;
  for (;;) {
    const auto result = framer.next(message);
    if (result == MessageFramer::Result::message) {
      out.push_back(message);
      continue;
    }
    REQUIRE(result != MessageFramer::Result::too_long);
    if (result == MessageFramer::Result::need_more) return out;
  }
}

}  // namespace

TEST_CASE("framer: the same messages however the stream is split") {
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> sent;
    std::string stream;
    const int count = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < count; ++i) {
      sent.push_back(
          fix_message("35=D\x01"
                      "11=" +
                      std::to_string(random()) + "\x01"));
      stream += sent.back();
    }
    MessageFramer framer(1024);
    std::vector<std::string> received;
    for (std::size_t at = 0; at < stream.size();) {
      const std::size_t piece = std::min<std::size_t>(1 + random() % 40, stream.size() - at);
      framer.append(stream.data() + at, piece);
      at += piece;
      for (const auto& m : drain(framer))
        received.push_back(m);
    }
    CHECK(received == sent);
    CHECK(framer.buffered() == 0);
  }
}

TEST_CASE("framer: bytes that cannot begin a message are not kept") {
  MessageFramer framer(1024);
  const std::string garbage(1 << 20, 'x');
  framer.append(garbage.data(), garbage.size());
  std::string message;
  CHECK(framer.next(message) == MessageFramer::Result::need_more);
  CHECK(framer.buffered() == 0);
  // A '8' at the end may begin "8=": kept, and the message after it frames.
  framer.append("xx8", 3);
  CHECK(framer.next(message) == MessageFramer::Result::need_more);
  CHECK(framer.buffered() == 1);
  const std::string rest = fix_message("35=0\x01").substr(1);
  framer.append(rest.data(), rest.size());
  CHECK(framer.next(message) == MessageFramer::Result::message);
  CHECK(message == fix_message("35=0\x01"));
}

TEST_CASE("framer: a BodyLength over the limit is refused before its body arrives") {
  MessageFramer framer(1024);
  const std::string header =
      "8=FIX.4.4\x01"
      "9=999999\x01";
  framer.append(header.data(), header.size());
  std::string message;
  CHECK(framer.next(message) == MessageFramer::Result::too_long);
  SUBCASE("ten digits") {
    MessageFramer other(1024);
    const std::string huge =
        "8=FIX.4.4\x01"
        "9=99999999999999999999\x01";
    other.append(huge.data(), huge.size());
    CHECK(other.next(message) == MessageFramer::Result::too_long);
  }
  SUBCASE("no BodyLength, and more bytes than a message may have") {
    MessageFramer other(1024);
    const std::string endless = "8=FIX.4.4\x01" + std::string(2000, 'y');
    other.append(endless.data(), endless.size());
    CHECK(other.next(message) == MessageFramer::Result::too_long);
  }
}

TEST_CASE("framer: a message of exactly the limit passes, one byte more does not") {
  // 10 ("8=FIX.4.4|") + 6 ("9=977|") + 977 body + 7 ("10=000|") = 1000 bytes.
  const std::string at_limit = fix_message(
      "35=D\x01"
      "58=" +
      std::string(968, 'z') + "\x01");
  REQUIRE(at_limit.size() == 1000);
  MessageFramer framer(1000);
  framer.append(at_limit.data(), at_limit.size());
  std::string message;
  CHECK(framer.next(message) == MessageFramer::Result::message);
  MessageFramer smaller(999);
  smaller.append(at_limit.data(), at_limit.size());
  CHECK(smaller.next(message) == MessageFramer::Result::too_long);
}

TEST_CASE("framer: a BodyLength that is not a number is dropped, and framing resumes") {
  MessageFramer framer(1024);
  const std::string bad =
      "8=FIX.4.4\x01"
      "9=abc\x01"
      "35=D\x01";
  const std::string good = fix_message("35=0\x01");
  framer.append(bad.data(), bad.size());
  framer.append(good.data(), good.size());
  std::string message;
  CHECK(framer.next(message) == MessageFramer::Result::garbled);
  CHECK(framer.next(message) == MessageFramer::Result::message);
  CHECK(message == good);
}
