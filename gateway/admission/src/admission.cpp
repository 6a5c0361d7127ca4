#include "gpux/admission/admission.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <utility>

namespace gpux {
namespace admission {

ConnectionCount::ConnectionCount(Limits limits) : limits_(std::move(limits)) {}

std::size_t ConnectionCount::open_from(const std::string& address) const {
  const auto found = from_.find(address);
  return found == from_.end() ? 0 : found->second;
}

ConnectionCount::Verdict ConnectionCount::admit(const std::string& address) {
  if (open_ >= limits_.max_connections) return Verdict::listener_full;
  if (open_from(address) >= limits_.max_per_address) return Verdict::address_full;
  ++from_[address];
  ++open_;
  return Verdict::admitted;
}

std::string ConnectionCount::why(Verdict verdict, const std::string& address) const {
  assert(verdict != Verdict::admitted);
  if (verdict == Verdict::listener_full)
    return std::to_string(open_) + " connections already (" + limits_.max_connections_setting + ")";
  return std::to_string(open_from(address)) + " connections from that address already (" +
         limits_.max_per_address_setting + ")";
}

std::size_t ConnectionCount::limit(Verdict verdict) const {
  return verdict == Verdict::address_full ? limits_.max_per_address : limits_.max_connections;
}

void ConnectionCount::release(const std::string& address) {
  const auto found = from_.find(address);
  assert(found != from_.end() && open_ > 0);
  if (found == from_.end()) return;
  if (--found->second == 0) from_.erase(found);
  --open_;
}

SpareDescriptor::SpareDescriptor() : fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

SpareDescriptor::~SpareDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

bool SpareDescriptor::held() {
  if (fd_ < 0) fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd_ >= 0;
}

SpareDescriptor::Outcome SpareDescriptor::refuse_pending(int listener) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  const int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  const int error = errno;
  if (connection >= 0) ::close(connection);
  held();
  if (connection >= 0) return Outcome::refused_one;
  return error == EAGAIN || error == EWOULDBLOCK ? Outcome::nothing_waiting : Outcome::no_room;
}

bool out_of_descriptors(int error_number) {
  return error_number == EMFILE || error_number == ENFILE;
}

RefusalLog::RefusalLog(std::function<void(const std::string&)> write) : write_(std::move(write)) {}

void RefusalLog::refused(const std::string& line) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_written_ < std::chrono::seconds(1)) {
    ++unwritten_;
    return;
  }
  last_written_ = now;
  write_(unwritten_ == 0
             ? line
             : line + " (and " + std::to_string(unwritten_) + " more refusals unlogged)");
  unwritten_ = 0;
}

}  // namespace admission
}  // namespace gpux
