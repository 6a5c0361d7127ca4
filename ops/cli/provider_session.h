// A client session with gpuxd's provider API, as `gpux provider` (with a
// provider's token) and `gpux admin` (with the operator's) hold one: connect,
// Hello, then calls that each expect one reply.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "gpux/provider/wire.h"

namespace gpux::cli {

// The exchange answered with an Error frame: its reason. Exit 1.
struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The exchange could not be reached. Exit 3.
struct Unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ProviderSession {
 public:
  using Frame = provider::Frame;
  static constexpr std::chrono::milliseconds kTimeout{120'000};

  // Connects to `exchange` (HOST:PORT; TLS when `tls_ca` names the CA) and
  // says Hello with `token`, as `client`.
  ProviderSession(const std::string& exchange, const std::string& token, const std::string& tls_ca,
                  const std::string& client) {
    try {
      transport_ = provider::Transport::connect(exchange, tls_ca, kTimeout);
    } catch (const provider::WireError& e) {
      throw Unreachable(e.what());
    }
    Frame hello;
    hello.mutable_hello()->set_token(token);
    hello.mutable_hello()->set_client(client);
    welcome_ = call(hello, Frame::kWelcome).welcome();
  }

  // Sends `request`; the answer must be of type `expected` (an Error is
  // refused with its reason).
  Frame call(const Frame& request, Frame::BodyCase expected) {
    provider::write_frame(*transport_, request);
    return expect(provider::read_frame(*transport_, provider::kDefaultMaxFrameBytes, kTimeout),
                  expected);
  }

  Frame expect(const Frame& reply, Frame::BodyCase expected) {
    if (reply.body_case() == Frame::kError) throw Refused(reply.error().reason());
    if (reply.body_case() != expected)
      throw provider::WireError("unexpected " + provider::frame_type(reply) + " from the exchange");
    return reply;
  }

  provider::Transport& transport() { return *transport_; }
  const proto::provider::Welcome& welcome() const { return welcome_; }

 private:
  std::unique_ptr<provider::Transport> transport_;
  proto::provider::Welcome welcome_;
};

}  // namespace gpux::cli
