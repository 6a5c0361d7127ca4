#include "gpux/provider/wire.h"

#include <algorithm>

namespace gpux::provider {

void write_frame(Stream& stream, const Frame& frame) {
  const std::string body = frame.SerializeAsString();
  const auto size = static_cast<std::uint32_t>(body.size());
  std::string bytes = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                       static_cast<char>(size >> 8), static_cast<char>(size)};
  bytes += body;
  try {
    stream.write_all(bytes, kWriteTimeout);
  } catch (const WireError& e) {
    throw WireError("cannot send " + frame_type(frame) + ": " + e.what());
  }
}

Frame read_frame(Stream& stream, std::size_t max_bytes, std::chrono::milliseconds timeout) {
  // One deadline for the whole frame, not one per read: a peer that trickles
  // a byte at a time must not hold its connection, and a slot, for ever.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto time_left = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw WireError("a frame not completed within " + std::to_string(timeout.count()) + " ms");
    return left;
  };
  const auto read_exactly = [&](char* out, std::size_t size, bool frame_start) {
    const std::size_t wanted = size;
    while (size > 0) {
      try {
        const std::size_t n = stream.read_some(out, size, time_left());
        out += n;
        size -= n;
      } catch (const ConnectionClosed&) {
        if (frame_start && size == wanted) throw;
        throw WireError("connection closed by the peer in the middle of a frame");
      } catch (const WireError&) {
        time_left();  // the read ran into the frame's deadline: say that
        throw;
      }
    }
  };
  unsigned char header[4];
  read_exactly(reinterpret_cast<char*>(header), sizeof header, true);
  const std::size_t size = std::size_t{header[0]} << 24 | std::size_t{header[1]} << 16 |
                           std::size_t{header[2]} << 8 | header[3];
  if (size > max_bytes)
    throw WireError("a frame of " + std::to_string(size) + " bytes; the limit is " +
                    std::to_string(max_bytes));
  // Grown as the bytes arrive: a header that announces a large frame costs
  // the receiver only what the peer really sends.
  constexpr std::size_t kChunk = 64u << 10;
  std::string body;
  while (body.size() < size) {
    const std::size_t at = body.size();
    body.resize(at + std::min(kChunk, size - at));
    read_exactly(body.data() + at, body.size() - at, false);
  }
  Frame frame;
  if (!frame.ParseFromString(body)) throw WireError("a frame that is not a ProviderFrame");
  if (frame.body_case() == Frame::BODY_NOT_SET)
    throw WireError("a frame of an unknown or missing message type");
  return frame;
}

std::string frame_type(const Frame& frame) {
  const auto* field = Frame::descriptor()->FindFieldByNumber(frame.body_case());
  return field ? std::string(field->name()) : "empty frame";
}

}  // namespace gpux::provider
