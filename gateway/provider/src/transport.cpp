// Plain TCP or TLS for the provider API, with a deadline on every call. Asio's
// blocking calls cannot time out, so each call starts the asynchronous
// operation on the transport's own io_context and runs it for at most the
// timeout, cancelling what is still pending.
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "gpux/provider/wire.h"

namespace gpux::provider {

namespace ssl = boost::asio::ssl;
using boost::asio::ip::tcp;

struct TlsServer::Impl {
  ssl::context context{ssl::context::tls_server};
};

TlsServer::TlsServer(const std::string& certificate_file, const std::string& key_file)
    : impl(std::make_unique<Impl>()) {
  impl->context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1);
  boost::system::error_code error;
  impl->context.use_certificate_chain_file(certificate_file, error);
  if (error) throw WireError("TLS certificate " + certificate_file + ": " + error.message());
  impl->context.use_private_key_file(key_file, ssl::context::pem, error);
  if (error) throw WireError("TLS key " + key_file + ": " + error.message());
}

TlsServer::~TlsServer() = default;

struct Transport::Impl {
  boost::asio::io_context io;
  std::optional<ssl::context> client_context;  // a client's, which its stream uses
  std::optional<ssl::stream<tcp::socket>> tls;
  std::optional<tcp::socket> plain;

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }

  // Runs the operation `start` begins for at most `timeout`.
  template <class Start>
  std::size_t run(Start start, std::chrono::milliseconds timeout, const char* waiting_for) {
    boost::system::error_code result = boost::asio::error::would_block;
    std::size_t bytes = 0;
    start([&](const boost::system::error_code& error, std::size_t n) {
      result = error;
      bytes = n;
    });
    io.restart();
    io.run_for(timeout);
    if (!io.stopped()) {
      boost::system::error_code ignored;
      socket().cancel(ignored);
      io.restart();
      io.run();
      throw WireError(std::string("no ") + waiting_for + " for " + std::to_string(timeout.count()) +
                      " ms");
    }
    if (result == boost::asio::error::eof || result == ssl::error::stream_truncated)
      throw ConnectionClosed("connection closed by the peer");
    if (result) throw WireError(result.message());
    return bytes;
  }
};

Transport::Transport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Transport::~Transport() = default;

std::unique_ptr<Transport> Transport::for_server(const TlsServer* tls) {
  auto impl = std::make_unique<Impl>();
  if (tls != nullptr)
    impl->tls.emplace(impl->io, tls->impl->context);
  else
    impl->plain.emplace(impl->io);
  return std::unique_ptr<Transport>(new Transport(std::move(impl)));
}

std::unique_ptr<Transport> Transport::connect(const std::string& address,
                                              const std::string& tls_ca_file,
                                              std::chrono::milliseconds timeout) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    throw WireError("address '" + address + "' is not HOST:PORT");
  const std::string host = address.substr(0, colon);
  auto impl = std::make_unique<Impl>();
  if (tls_ca_file.empty()) {
    impl->plain.emplace(impl->io);
  } else {
    impl->client_context.emplace(ssl::context::tls_client);
    boost::system::error_code error;
    impl->client_context->load_verify_file(tls_ca_file, error);
    if (error) throw WireError("TLS CA file " + tls_ca_file + ": " + error.message());
    impl->tls.emplace(impl->io, *impl->client_context);
    impl->tls->set_verify_mode(ssl::verify_peer);
    impl->tls->set_verify_callback(ssl::host_name_verification(host));
    SSL_set_tlsext_host_name(impl->tls->native_handle(), host.c_str());
  }
  tcp::resolver resolver(impl->io);
  boost::system::error_code error;
  const auto endpoints = resolver.resolve(host, address.substr(colon + 1), error);
  if (error) throw WireError("cannot resolve " + address + ": " + error.message());
  Impl& i = *impl;
  try {
    i.run(
        [&](auto done) {
          boost::asio::async_connect(i.socket(), endpoints,
                                     [done](const boost::system::error_code& e,
                                            const tcp::endpoint&) mutable { done(e, 0); });
        },
        timeout, "connection");
    i.socket().set_option(tcp::no_delay(true));
    if (i.tls)
      i.run(
          [&](auto done) {
            i.tls->async_handshake(
                ssl::stream_base::client,
                [done](const boost::system::error_code& e) mutable { done(e, 0); });
          },
          timeout, "TLS handshake");
  } catch (const WireError& e) {
    throw WireError("cannot connect to " + address + ": " + e.what());
  }
  return std::unique_ptr<Transport>(new Transport(std::move(impl)));
}

tcp::socket& Transport::socket() {
  return impl_->socket();
}

void Transport::handshake(std::chrono::milliseconds timeout) {
  if (!impl_->tls) return;
  impl_->run(
      [&](auto done) {
        impl_->tls->async_handshake(
            ssl::stream_base::server,
            [done](const boost::system::error_code& e) mutable { done(e, 0); });
      },
      timeout, "TLS handshake");
}

std::size_t Transport::read_some(char* out, std::size_t size, std::chrono::milliseconds timeout) {
  return impl_->run(
      [&](auto done) {
        const auto buffer = boost::asio::buffer(out, size);
        if (impl_->tls)
          impl_->tls->async_read_some(buffer, done);
        else
          impl_->plain->async_read_some(buffer, done);
      },
      timeout, "data");
}

void Transport::write_all(const std::string& bytes, std::chrono::milliseconds timeout) {
  impl_->run(
      [&](auto done) {
        if (impl_->tls)
          boost::asio::async_write(*impl_->tls, boost::asio::buffer(bytes), done);
        else
          boost::asio::async_write(*impl_->plain, boost::asio::buffer(bytes), done);
      },
      timeout, "progress sending");
}

void Transport::shut_down() {
  // The system call itself, not Asio's: it may come from another thread
  // while this transport's own thread waits in it.
  ::shutdown(impl_->socket().native_handle(), SHUT_RDWR);
}

}  // namespace gpux::provider
