#include "batching_acceptor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <quickfix/Parser.h>
#include <quickfix/Session.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gpux {
namespace fix {
namespace {

struct Connection;

// A batch writes early once this much waits for one connection, so that the
// unsent limit counts what the client has not read, not the batch's size.
const std::size_t kWriteAtBytes = 64 * 1024;

// The calling thread's batch: connections with bytes its sends left waiting.
thread_local bool t_batching = false;
// The peer of the connection whose Logon the poll thread is processing.
thread_local std::string t_logon_peer;
thread_local std::vector<std::shared_ptr<Connection>> t_waiting;

// What a connection needs from the thread that polls it.
struct Poller {
  Poller(std::size_t max_unsent, std::function<bool()> durable)
      : max_unsent_bytes(max_unsent), make_durable(std::move(durable)) {}
  void wake();
  void watch(int fd, std::uint32_t events, int op);

  const std::size_t max_unsent_bytes;
  const std::function<bool()> make_durable;
  int epoll_fd = -1;
  int wake_fd = -1;
  // Connections whose session (or a full buffer) asked to close them.
  std::mutex requests_mutex;
  std::vector<std::shared_ptr<Connection>> close_requests;
};

std::string system_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

struct Connection : FIX::Responder, std::enable_shared_from_this<Connection> {
  Connection(int socket, Poller& o, std::string peer)
      : fd(socket), owner(o), address(std::move(peer)) {}

  // Called by sessions, from any thread, with the session's lock held.
  bool send(const std::string& message) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (closed || close_requested) return false;
    unsent += message;
    undurable = true;
    if (!t_batching || unsent.size() >= kWriteAtBytes) {
      write_locked();
      if (close_requested) return false;
    } else if (!waiting) {
      waiting = true;
      t_waiting.push_back(shared_from_this());
    }
    if (unsent.size() > owner.max_unsent_bytes) {
      // The session store keeps the message; the client asks for it again
      // after its next logon. Never grow without bound for one slow reader.
      overflowed = true;
      unsent.clear();
      request_close_locked();
      return false;
    }
    return true;
  }

  void disconnect() override {
    std::lock_guard<std::mutex> lock(mutex);
    request_close_locked();
  }

  void request_close_locked() {
    if (close_requested) return;
    close_requested = true;
    {
      std::lock_guard<std::mutex> requests(owner.requests_mutex);
      owner.close_requests.push_back(shared_from_this());
    }
    owner.wake();
  }

  // Writes what the socket takes; the rest waits for EPOLLOUT.
  void write_locked() {
    waiting = false;
    // Nothing leaves before the session store holds it durably: a power loss
    // must not undo a message the client has seen. When that fails gpuxd is
    // stopping; the client is disconnected rather than left waiting.
    if (undurable) {
      if (!owner.make_durable()) {
        unsent.clear();
        request_close_locked();
        return;
      }
      undurable = false;
    }
    std::size_t written = 0;
    while (!closed && written < unsent.size()) {
      const ssize_t n =
          ::send(fd, unsent.data() + written, unsent.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        // EAGAIN: the socket is full. Anything else: the poller sees the
        // error on the socket and closes the connection.
        break;
      }
    }
    unsent.erase(0, written);
    const bool need_write = !unsent.empty() && !closed;
    if (need_write != write_watched && !closed) {
      write_watched = need_write;
      owner.watch(fd, need_write ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
    }
  }

  const int fd;
  Poller& owner;
  const std::string address;  // the peer's, for logon checks by source
  // The polling thread's own.
  FIX::Parser parser;
  FIX::Session* session = nullptr;
  const std::chrono::steady_clock::time_point accepted_at = std::chrono::steady_clock::now();
  std::size_t received_before_logon = 0;  // bytes, until a session is identified
  std::string first_message;              // read, and with the vetting thread until vetted
  bool vetting = false;
  // Shared with the threads that send.
  std::mutex mutex;
  std::string unsent;
  // Bytes were added to `unsent` since the store was last made durable
  // (QuickFIX stores a message before it hands it to the connection).
  bool undurable = false;
  bool waiting = false;  // in some thread's t_waiting
  bool write_watched = false;
  bool close_requested = false;
  bool overflowed = false;
  bool closed = false;
};

}  // namespace

// What a connection may send before its Logon identifies it: a Logon is
// well under a kilobyte.
constexpr std::size_t kPreLogonBytes = 64u << 10;

struct BatchingAcceptor::Impl : Poller {
  Impl(BatchingAcceptor& a, int p, const SocketLimits& limits,
       std::function<void(const std::string&, const std::string&)> vet,
       std::function<bool()> durable)
      : Poller(limits.max_unsent_bytes, std::move(durable)),
        acceptor(a),
        port(p),
        max_connections(limits.max_connections),
        max_per_address(limits.max_connections_per_address),
        logon_timeout(limits.logon_timeout),
        vet_logon(std::move(vet)) {}
  ~Impl();

  void poll_once(int timeout_ms);
  void accept_all();
  void read(const std::shared_ptr<Connection>& connection);
  void process(const std::shared_ptr<Connection>& connection);
  void run_vetting();
  void stop_vetting();
  void admit_vetted();
  bool identify(const std::shared_ptr<Connection>& connection, const std::string& message);
  void close(const std::shared_ptr<Connection>& connection, const std::string& why);
  void close_requested();
  void tick_sessions();
  // A copy: what is done to each may close it.
  std::vector<std::shared_ptr<Connection>> all_connections() const;

  // Refuses (accepts and closes at once) a connection it cannot serve, with
  // a line in the event log saying why.
  void refuse(int fd, const char* address, const std::string& why);
  // Closes a connection that has not logged on, with an event-log line.
  void refuse_unidentified(const std::shared_ptr<Connection>& connection, const std::string& why);
  void log_refusal(const std::string& line);

  BatchingAcceptor& acceptor;
  const int port;
  const std::size_t max_connections;
  const std::size_t max_per_address;
  const std::chrono::milliseconds logon_timeout;
  const std::function<void(const std::string&, const std::string&)> vet_logon;
  int listen_fd = -1;
  // Held open so that, out of descriptors, a pending connection can still
  // be accepted (and closed) instead of leaving the listener readable, which
  // would make every poll return at once: 100% CPU, and no logon answered.
  int spare_fd = -1;
  // Without a spare (another thread took the descriptor it freed), the
  // listener is left unwatched until one can be opened again.
  bool listener_paused = false;
  // log_refusal()'s rate: the last line written, and the refusals since.
  std::chrono::steady_clock::time_point last_refusal_logged{};
  std::size_t refusals_unlogged = 0;
  // The polling thread's own: connections by socket.
  std::map<int, std::shared_ptr<Connection>> connections;
  std::map<std::string, std::size_t> connections_from;  // open connections by peer address
  std::chrono::steady_clock::time_point last_tick;
  // First messages waiting for vet_logon, and those it is done with.
  std::thread vetter;
  std::mutex vet_mutex;
  std::condition_variable vet_wanted;
  bool vet_stopping = false;
  std::deque<std::shared_ptr<Connection>> to_vet;
  std::vector<std::shared_ptr<Connection>> vetted;
};

BatchingAcceptor::Impl::~Impl() {
  stop_vetting();
  assert(connections.empty());  // onStart closes them all when it ends
  for (int fd : {listen_fd, epoll_fd, wake_fd, spare_fd})
    if (fd >= 0) ::close(fd);
}

void Poller::wake() {
  const std::uint64_t one = 1;
  if (::write(wake_fd, &one, sizeof one) < 0) {
    // Only fails when the counter is saturated: the poller is awake anyway.
  }
}

void Poller::watch(int fd, std::uint32_t events, int op) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  ::epoll_ctl(epoll_fd, op, fd, &event);
}

void BatchingAcceptor::Impl::accept_all() {
  for (;;) {
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && spare_fd < 0) {
      watch(listen_fd, 0, EPOLL_CTL_MOD);  // until poll_once has a spare again
      listener_paused = true;
      return;
    }
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
      ::close(spare_fd);
      fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
      const bool refused = fd >= 0;
      if (refused) refuse(fd, nullptr, "the process is out of file descriptors");
      spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      // Out of descriptors, accept fails before it looks for a connection:
      // only one that was accepted says another may be waiting.
      if (!refused) return;
      continue;
    }
    if (fd < 0) return;  // EAGAIN, or a connection that went away meanwhile
    char address[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &peer.sin_addr, address, sizeof address);
    if (connections.size() >= max_connections) {
      refuse(fd, address,
             std::to_string(connections.size()) + " connections already (fix_max_connections)");
      continue;
    }
    std::size_t& from_peer = connections_from[address];
    if (from_peer >= max_per_address) {
      refuse(fd, address,
             std::to_string(from_peer) +
                 " connections from that address already (fix_max_connections_per_address)");
      continue;
    }
    ++from_peer;
    // Batches already coalesce; a report must not wait for an ACK.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connections[fd] = std::make_shared<Connection>(fd, *this, address);
    watch(fd, EPOLLIN, EPOLL_CTL_ADD);
    acceptor.getLog()->onEvent("Accepted connection from " + std::string(address) + " on port " +
                               std::to_string(port));
  }
}

void BatchingAcceptor::Impl::refuse_unidentified(const std::shared_ptr<Connection>& connection,
                                                 const std::string& why) {
  log_refusal("Closed a connection on port " + std::to_string(port) + ": " + why);
  close(connection, "");
}

void BatchingAcceptor::Impl::refuse(int fd, const char* address, const std::string& why) {
  ::close(fd);
  log_refusal("Refused connection" + (address != nullptr ? " from " + std::string(address) : "") +
              " on port " + std::to_string(port) + ": " + why);
}

// One line a second at most: a peer that opens connections as fast as it
// can must not be able to fill the disk with the log of their refusals.
void BatchingAcceptor::Impl::log_refusal(const std::string& line) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_logged < std::chrono::seconds(1)) {
    ++refusals_unlogged;
    return;
  }
  last_refusal_logged = now;
  acceptor.getLog()->onEvent(refusals_unlogged == 0
                                 ? line
                                 : line + " (and " + std::to_string(refusals_unlogged) +
                                       " more refusals unlogged)");
  refusals_unlogged = 0;
}

// The first message of a connection names its session, which must be one of
// ours, not connected already, and begin with a Logon (as QuickFIX's own
// acceptor requires).
bool BatchingAcceptor::Impl::identify(const std::shared_ptr<Connection>& connection,
                                      const std::string& message) {
  FIX::Session* session = FIX::Session::lookupSession(message, true);
  if (session == nullptr || FIX::Session::isSessionRegistered(session->getSessionID()) ||
      !acceptor.has(session->getSessionID())) {
    acceptor.getLog()->onEvent("Session not found for incoming message: " + message);
    acceptor.getLog()->onIncoming(message);
    return false;
  }
  session = acceptor.getSession(message, *connection);  // null unless a Logon
  if (session == nullptr) return false;
  connection->session = session;
  // For the Logon's checks, by source address; cleared however next() ends.
  struct LogonPeer {
    explicit LogonPeer(const std::string& address) { t_logon_peer = address; }
    ~LogonPeer() { t_logon_peer.clear(); }
  } peer(connection->address);
  try {
    session->next(message, FIX::UtcTimeStamp());
  } catch (FIX::InvalidMessage&) {
    return false;
  }
  // A Logon the session did not accept (no HeartBtInt(108), a wrong
  // password, ...) must not leave the seat bound to this connection: the
  // caller closes it, which frees the session for its owner's next Logon.
  if (!session->isLoggedOn()) return false;
  FIX::Session::registerSession(session->getSessionID());
  return true;
}

void BatchingAcceptor::Impl::read(const std::shared_ptr<Connection>& connection) {
  char buffer[64 * 1024];
  const ssize_t n = ::recv(connection->fd, buffer, sizeof buffer, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    close(connection, n == 0 ? "Connection closed by the client" : system_error("Socket error"));
    return;
  }
  if (connection->session == nullptr &&
      (connection->received_before_logon += static_cast<std::size_t>(n)) > kPreLogonBytes) {
    // A Logon is well under a kilobyte: a stranger may not make the exchange
    // buffer more before saying who it is.
    refuse_unidentified(connection,
                        "more than " + std::to_string(kPreLogonBytes) + " bytes before a Logon");
    return;
  }
  connection->parser.addToStream(buffer, static_cast<std::size_t>(n));
  process(connection);
}

// Hands the connection's whole messages to its session, the first one by
// way of the vetting thread.
void BatchingAcceptor::Impl::process(const std::shared_ptr<Connection>& connection) {
  while (!connection->vetting) {
    {
      std::lock_guard<std::mutex> lock(connection->mutex);
      if (connection->close_requested) return;
    }
    std::string message;
    try {
      if (!connection->parser.readFixMessage(message)) return;
    } catch (FIX::MessageParseError&) {
      // The parser has dropped the garbled bytes; what follows may be whole.
      if (connection->session != nullptr)
        connection->session->getLog()->onEvent("Dropped bytes that do not frame a FIX message");
      continue;
    }
    if (connection->session == nullptr) {
      // Nothing more is read from it until the first message is vetted.
      connection->first_message = message;
      connection->vetting = true;
      watch(connection->fd, 0, EPOLL_CTL_MOD);
      {
        std::lock_guard<std::mutex> lock(vet_mutex);
        to_vet.push_back(connection);
      }
      vet_wanted.notify_one();
      return;
    }
    try {
      connection->session->next(message, FIX::UtcTimeStamp());
    } catch (FIX::InvalidMessage&) {
      if (!connection->session->isLoggedOn()) {
        close(connection, "");
        return;
      }
    }
  }
}

void BatchingAcceptor::Impl::run_vetting() {
  for (;;) {
    std::shared_ptr<Connection> connection;
    {
      std::unique_lock<std::mutex> lock(vet_mutex);
      vet_wanted.wait(lock, [&] { return vet_stopping || !to_vet.empty(); });
      if (vet_stopping) return;
      connection = to_vet.front();
      to_vet.pop_front();
    }
    try {
      vet_logon(connection->first_message, connection->address);
    } catch (...) {
      // Vetting only prepares: the session's own checks still run.
    }
    {
      std::lock_guard<std::mutex> lock(vet_mutex);
      vetted.push_back(connection);
    }
    wake();
  }
}

void BatchingAcceptor::Impl::stop_vetting() {
  {
    std::lock_guard<std::mutex> lock(vet_mutex);
    vet_stopping = true;
  }
  vet_wanted.notify_one();
  if (vetter.joinable()) vetter.join();
}

void BatchingAcceptor::Impl::admit_vetted() {
  std::vector<std::shared_ptr<Connection>> ready;
  {
    std::lock_guard<std::mutex> lock(vet_mutex);
    ready.swap(vetted);
  }
  for (const auto& connection : ready) {
    const auto found = connections.find(connection->fd);
    if (found == connections.end() || found->second != connection) continue;  // gone meanwhile
    connection->vetting = false;
    watch(connection->fd, EPOLLIN, EPOLL_CTL_MOD);
    if (!identify(connection, connection->first_message)) {
      close(connection, "");
      continue;
    }
    process(connection);
  }
}

void BatchingAcceptor::Impl::close(const std::shared_ptr<Connection>& connection,
                                   const std::string& why) {
  if (connections.erase(connection->fd) == 0) return;  // closed already
  const auto from_peer = connections_from.find(connection->address);
  if (from_peer != connections_from.end() && --from_peer->second == 0)
    connections_from.erase(from_peer);
  FIX::Session* session = connection->session;
  connection->session = nullptr;
  bool overflowed = false;
  std::size_t unsent = 0;
  {
    std::lock_guard<std::mutex> lock(connection->mutex);
    overflowed = connection->overflowed;
    connection->write_locked();  // a Logout and its reason, say
    unsent = connection->unsent.size();
    connection->close_requested = true;
  }
  // Logged before the socket closes: a client that sees the close can read why.
  if (session != nullptr) {
    if (overflowed)
      session->getLog()->onEvent("Disconnecting: the client left more than " +
                                 std::to_string(max_unsent_bytes) +
                                 " bytes unread (its messages are kept for resend)");
    else if (!why.empty())
      session->getLog()->onEvent(why);
    if (unsent != 0)
      session->getLog()->onEvent(std::to_string(unsent) + " bytes unsent at disconnect");
  }
  {
    std::lock_guard<std::mutex> lock(connection->mutex);
    connection->closed = true;
    ::close(connection->fd);  // also leaves the epoll set
  }
  if (session == nullptr) return;
  session->disconnect();
  FIX::Session::unregisterSession(session->getSessionID());
}

void BatchingAcceptor::Impl::close_requested() {
  std::vector<std::shared_ptr<Connection>> requests;
  {
    std::lock_guard<std::mutex> lock(requests_mutex);
    requests.swap(close_requests);
  }
  for (const auto& connection : requests)
    close(connection, "");
}

// Heartbeats, test requests and logon timeouts: QuickFIX's session timer,
// about once a second as its own acceptor runs it.
void BatchingAcceptor::Impl::tick_sessions() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_tick < std::chrono::seconds(1)) return;
  last_tick = now;
  for (const auto& connection : all_connections()) {
    if (connection->session != nullptr) {
      connection->session->next(FIX::UtcTimeStamp());
    } else if (!connection->vetting && now - connection->accepted_at > logon_timeout) {
      refuse_unidentified(connection,
                          "no Logon within " + std::to_string(logon_timeout.count()) + " ms");
    }
  }
}

std::vector<std::shared_ptr<Connection>> BatchingAcceptor::Impl::all_connections() const {
  std::vector<std::shared_ptr<Connection>> all;
  for (const auto& entry : connections)
    all.push_back(entry.second);
  return all;
}

void BatchingAcceptor::Impl::poll_once(int timeout_ms) {
  if (listener_paused && (spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) {
    watch(listen_fd, EPOLLIN, EPOLL_CTL_MOD);
    listener_paused = false;
  }
  epoll_event events[64];
  const int ready = ::epoll_wait(epoll_fd, events, 64, timeout_ms);
  BatchingAcceptor::begin_batch();  // replies to all that arrived leave together
  for (int i = 0; i < ready; ++i) {
    const int fd = events[i].data.fd;
    if (fd == listen_fd) {
      accept_all();
    } else if (fd == wake_fd) {
      std::uint64_t count = 0;
      if (::read(wake_fd, &count, sizeof count) < 0) {
        // Nothing to drain: another wake-up was read first.
      }
    } else {
      auto found = connections.find(fd);
      if (found == connections.end()) continue;
      const std::shared_ptr<Connection> connection = found->second;
      if (events[i].events & EPOLLOUT) {
        std::lock_guard<std::mutex> lock(connection->mutex);
        connection->write_locked();
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read(connection);
    }
  }
  admit_vetted();
  tick_sessions();
  BatchingAcceptor::end_batch();
  close_requested();
}

BatchingAcceptor::BatchingAcceptor(
    FIX::Application& application, FIX::MessageStoreFactory& stores,
    const FIX::SessionSettings& settings, FIX::LogFactory& logs, int port,
    const SocketLimits& limits,
    std::function<void(const std::string&, const std::string&)> vet_logon,
    std::function<bool()> make_durable)
    : FIX::Acceptor(application, stores, settings, logs),
      impl_(new Impl(*this, port, limits, std::move(vet_logon), std::move(make_durable))) {}

BatchingAcceptor::~BatchingAcceptor() {
  stop();
}

void BatchingAcceptor::begin_batch() {
  t_batching = true;
}

void BatchingAcceptor::end_batch() {
  t_batching = false;
  std::vector<std::shared_ptr<Connection>> waiting;
  waiting.swap(t_waiting);
  for (const auto& connection : waiting) {
    std::lock_guard<std::mutex> lock(connection->mutex);
    if (connection->waiting) connection->write_locked();
  }
}

void BatchingAcceptor::onInitialize(const FIX::SessionSettings&) throw(FIX::RuntimeError) {
  Impl& i = *impl_;
  const auto fail = [&](const std::string& what) {
    throw FIX::RuntimeError("Unable to create, bind, or listen to port " + std::to_string(i.port) +
                            " (" + system_error(what) + ")");
  };
  i.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  i.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  i.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  i.spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (i.epoll_fd < 0 || i.wake_fd < 0 || i.listen_fd < 0 || i.spare_fd < 0) fail("socket");
  const int one = 1;
  ::setsockopt(i.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<std::uint16_t>(i.port));
  if (::bind(i.listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) fail("bind");
  if (::listen(i.listen_fd, SOMAXCONN) < 0) fail("listen");
  i.watch(i.listen_fd, EPOLLIN, EPOLL_CTL_ADD);
  i.watch(i.wake_fd, EPOLLIN, EPOLL_CTL_ADD);
  i.last_tick = std::chrono::steady_clock::now();
  i.vetter = std::thread([&i] {
    pthread_setname_np(pthread_self(), "gpux-fix-vet");  // for top -H and perf
    i.run_vetting();
  });
}

void BatchingAcceptor::onStart() {
  while (!isStopped())
    impl_->poll_once(1000);
  // stop() has logged every session out; what is still queued goes now.
  impl_->poll_once(0);
  for (const auto& connection : impl_->all_connections())
    impl_->close(connection, "");
  impl_->stop_vetting();
}

bool BatchingAcceptor::onPoll(double timeout) {
  if (isStopped()) return false;
  impl_->poll_once(static_cast<int>(timeout * 1000));
  return true;
}

void BatchingAcceptor::onStop() {
  impl_->wake();
}

const std::string& BatchingAcceptor::logon_peer() {
  return t_logon_peer;
}

}  // namespace fix
}  // namespace gpux
