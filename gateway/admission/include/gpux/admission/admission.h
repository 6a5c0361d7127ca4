// What a listener lets in, the same for every listener gpuxd has (FIX, the
// provider API): how many connections may be open, from one source address
// and in all; what to do when the process is out of file descriptors; and a
// log of refusals that a flood cannot turn into a full disk.
//
// None of these lock: each listener calls them from its one accepting
// thread, or under its own lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>

namespace gpux {
namespace admission {

// Counts a listener's open connections against its two limits.
class ConnectionCount {
 public:
  // `settings` name the limits in refusals, e.g. "fix_max_connections".
  struct Limits {
    std::size_t max_connections = 0;
    std::size_t max_per_address = 0;
    std::string max_connections_setting;
    std::string max_per_address_setting;
  };
  explicit ConnectionCount(Limits limits);

  enum class Verdict {
    admitted,       // counted as one more open connection
    listener_full,  // max_connections are open
    address_full,   // max_per_address are open from this address
  };
  // Counts `address` as one more open connection when both limits allow it;
  // otherwise counts nothing. Pre: `address` is the peer's IP address alone.
  Verdict admit(const std::string& address);
  // Why admit() refused, for logs, naming the setting: "4 connections
  // already (fix_max_connections)". Pre: `verdict` is not `admitted`, and
  // nothing was admitted or released since.
  std::string why(Verdict verdict, const std::string& address) const;
  // The limit a verdict met.
  std::size_t limit(Verdict verdict) const;
  // A connection admit() counted has closed. Pre: admitted and not released.
  void release(const std::string& address);
  std::size_t open() const { return open_; }

 private:
  std::size_t open_from(const std::string& address) const;

  const Limits limits_;
  std::size_t open_ = 0;
  std::map<std::string, std::size_t> from_;  // open connections by address; no zeros
};

// Out of file descriptors, accept() fails before it takes a connection off
// the queue, so the listener stays readable: a loop that waits for it spins
// at 100% CPU and answers nobody. A spare descriptor, held open, makes room
// to take one pending connection and close it at once.
class SpareDescriptor {
 public:
  SpareDescriptor();  // opens it (/dev/null)
  ~SpareDescriptor();
  SpareDescriptor(const SpareDescriptor&) = delete;
  SpareDescriptor& operator=(const SpareDescriptor&) = delete;

  enum class Outcome {
    refused_one,      // a pending connection was accepted and closed: another may wait
    nothing_waiting,  // the queue is empty: wait until the listener is readable
    no_room,          // another thread took the freed descriptor: wait a while
  };
  // Frees the spare, accepts one pending connection on `listener` (a
  // non-blocking socket) and closes it, then takes the spare back. Call when
  // accept() failed with EMFILE or ENFILE.
  Outcome refuse_pending(int listener);
  // Whether the spare is held; if not, tries to open it again.
  bool held();

 private:
  int fd_ = -1;
};

// Whether an accept() error number means the process or system is out of
// file descriptors.
bool out_of_descriptors(int error_number);

// At most one line a second; the refusals in between are counted in the
// next line, so a peer that connects as fast as it can cannot fill the disk.
class RefusalLog {
 public:
  explicit RefusalLog(std::function<void(const std::string&)> write);
  void refused(const std::string& line);

 private:
  const std::function<void(const std::string&)> write_;
  std::chrono::steady_clock::time_point last_written_{};
  std::size_t unwritten_ = 0;
};

}  // namespace admission
}  // namespace gpux
