// The provider API's wire, shared by gpuxd and the provider tools: frames
// (4-byte big-endian length + one ProviderFrame) over a Transport (plain TCP
// or TLS, Boost.Asio, every call with a deadline). The proofs they carry are
// concurrent_proofs.h's.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

#include "provider.pb.h"

namespace gpux::provider {

using Frame = proto::provider::ProviderFrame;

// The connection closed, stalled past its deadline, or sent what is not a
// frame; the message says which. The connection is unusable afterwards.
struct WireError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The peer closed the connection between frames: the normal end of a session.
struct ConnectionClosed : WireError {
  using WireError::WireError;
};

inline constexpr std::size_t kDefaultMaxFrameBytes = 64u << 20;

// The server's certificate chain and private key (PEM), loaded once.
class TlsServer {
 public:
  // Throws WireError naming the file that cannot be used.
  TlsServer(const std::string& certificate_file, const std::string& key_file);
  ~TlsServer();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

// Bytes in and out, each call with a deadline: what frames travel on. A
// Transport in gpuxd and the tools; anything else in tests and fuzzers.
class Stream {
 public:
  virtual ~Stream() = default;
  // At least one byte; ConnectionClosed at a clean end, WireError otherwise.
  virtual std::size_t read_some(char* out, std::size_t size, std::chrono::milliseconds timeout) = 0;
  virtual void write_all(const std::string& bytes, std::chrono::milliseconds timeout) = 0;
};

// One connection's byte stream: plain TCP, or TLS over it. Each transport
// runs its own io_context, so a blocking call can wait with a deadline;
// calls on one transport come from one thread, except shut_down().
class Transport final : public Stream {
 public:
  // Not yet connected: accept into socket(), then handshake(). `tls` null:
  // plain TCP. The TlsServer must outlive the transport.
  static std::unique_ptr<Transport> for_server(const TlsServer* tls);
  // "host:port" -> connected (and, with a CA file, TLS with the server's
  // certificate verified against it for that host). Throws WireError.
  static std::unique_ptr<Transport> connect(const std::string& address,
                                            const std::string& tls_ca_file,
                                            std::chrono::milliseconds timeout);
  ~Transport() override;

  boost::asio::ip::tcp::socket& socket();
  void handshake(std::chrono::milliseconds timeout);  // the server's TLS handshake
  std::size_t read_some(char* out, std::size_t size, std::chrono::milliseconds timeout) override;
  void write_all(const std::string& bytes, std::chrono::milliseconds timeout) override;
  // From any thread: ends the connection; a call waiting on it fails.
  void shut_down();

 private:
  struct Impl;
  explicit Transport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

inline constexpr std::chrono::milliseconds kWriteTimeout{30'000};

void write_frame(Stream& stream, const Frame& frame);

// Waits at most `timeout` for the whole frame, however it trickles in;
// refuses one announced larger than `max_bytes` before reading it, and
// allocates only as its bytes arrive.
Frame read_frame(Stream& stream, std::size_t max_bytes, std::chrono::milliseconds timeout);

// The name of a frame's message, for errors and logs: "step_commitment".
std::string frame_type(const Frame& frame);

}  // namespace gpux::provider
