#include "seat_guard.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>

namespace gpux::fix {

namespace {

std::array<unsigned char, 32> sha256(const std::string& text) {
  std::array<unsigned char, 32> digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size());
  return digest;
}

bool same(const std::array<unsigned char, 32>& a, const std::array<unsigned char, 32>& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool verify(const std::string& hash, const std::string& password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.c_str(), password.size()) == 0;
}

}  // namespace

long SeatGuard::wall_minute() {
  return static_cast<long>(std::time(nullptr) / 60);
}

SeatGuard::SeatGuard(MinuteClock minute) : minute_(std::move(minute)) {}

void SeatGuard::set(const matching::Seat& seat) {
  std::lock_guard lock(mutex_);
  auto [held, added] = seats_.try_emplace(seat.sender_comp_id, seat);
  if (!added && held->second.password_hash != seat.password_hash) {
    verified_.erase(seat.sender_comp_id);
    refused_.erase(seat.sender_comp_id);
  }
  held->second = seat;
}

std::optional<matching::Seat> SeatGuard::find(const std::string& session) const {
  std::lock_guard lock(mutex_);
  const auto seat = seats_.find(session);
  if (seat == seats_.end()) return std::nullopt;
  return seat->second;
}

std::vector<std::string> SeatGuard::enabled_sessions_of(matching::ParticipantId participant) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> sessions;
  for (const auto& [session, seat] : seats_)
    if (seat.participant == participant && seat.enabled) sessions.push_back(session);
  return sessions;
}

SeatGuard::Verdict SeatGuard::known_verdict(const Source& source, const Digest& digest,
                                            std::string& hash) const {
  const std::string& session = source.first;
  const auto seat = seats_.find(session);
  if (seat == seats_.end()) return Verdict::unknown_client;
  if (!seat->second.enabled) return Verdict::disabled;
  const long now = minute_();
  const auto failures = failures_.find(source);
  if (failures != failures_.end() && failures->second.second == now &&
      failures->second.first >= max_failures_per_minute)
    return Verdict::rate_limited;
  const auto seat_failures = seat_failures_.find(session);
  if (seat_failures != seat_failures_.end() && seat_failures->second.second == now &&
      seat_failures->second.first >= max_seat_failures_per_minute) {
    const auto known = known_peers_.find(session);
    if (known == known_peers_.end() ||
        std::find(known->second.begin(), known->second.end(), source.second) == known->second.end())
      return Verdict::rate_limited;
  }
  hash = seat->second.password_hash;
  if (hash.empty()) return seat->second.no_password ? Verdict::accepted : Verdict::no_password;
  const auto known = verified_.find(session);
  if (known != verified_.end() && same(known->second, digest)) return Verdict::accepted;
  const auto wrong = refused_.find(session);
  if (wrong != refused_.end() && same(wrong->second, digest)) return Verdict::refused;
  return Verdict::unchecked;
}

void SeatGuard::count_failure(const Source& source) {
  const long now = minute_();
  // Many addresses failing: what earlier minutes counted locks nothing out.
  if (failures_.size() >= max_remembered_failures)
    std::erase_if(failures_, [&](const auto& entry) { return entry.second.second != now; });
  const auto count = [&](std::pair<int, long>& failures) {
    auto& [failed, when] = failures;
    if (when != now) failed = 0, when = now;
    ++failed;
  };
  // Still full, of this minute's: the seat's own count bounds the guesses.
  if (failures_.size() < max_remembered_failures || failures_.contains(source))
    count(failures_[source]);
  count(seat_failures_[source.first]);  // configured seats only: bounded
}

void SeatGuard::logged_on(const Source& source) {
  std::vector<std::string>& peers = known_peers_[source.first];
  std::erase(peers, source.second);
  if (peers.size() >= max_known_peers) peers.erase(peers.begin());
  peers.push_back(source.second);
}

namespace {

// A Logon without a password is a client set up wrong, not a guess: it is
// told so, and not counted against the seat.
std::string missing_password(const std::string& session) {
  return "a password is required for " + session + ": Password(554) on the Logon";
}

}  // namespace

std::string SeatGuard::authenticate(const std::string& session, const std::string& password,
                                    const std::string& peer) {
  const Source source{session, peer};
  std::string hash;
  const Digest digest = sha256(password);
  {
    std::lock_guard lock(mutex_);
    switch (known_verdict(source, digest, hash)) {
      case Verdict::unknown_client:
        return "unknown SenderCompID " + session;
      case Verdict::disabled:
        return "seat " + session + " is disabled by the operator";
      case Verdict::rate_limited:
        return "too many failed logons; try again in a minute";
      case Verdict::no_password:
        return "seat " + session +
               " has no password yet: the operator gives it one (gpux admin seat-password), "
               "or onboarding the provider issues one";
      case Verdict::accepted:
        logged_on(source);
        return {};
      case Verdict::refused:
        if (password.empty()) return missing_password(session);
        count_failure(source);
        return "wrong password for " + session;
      case Verdict::unchecked:
        if (password.empty()) return missing_password(session);
        break;
    }
  }
  // Not vetted: verified here, slowly, outside the lock.
  const bool right = verify(hash, password);
  std::lock_guard lock(mutex_);
  if (!right) {
    count_failure(source);
    return "wrong password for " + session;
  }
  if (const auto seat = seats_.find(session);
      seat != seats_.end() && seat->second.password_hash == hash)
    verified_[session] = digest;
  logged_on(source);
  return {};
}

// Verification is deliberately slow, and the acceptor's one thread serves
// every session: it vets a Logon's password on another thread first.
// Failures are counted by authenticate alone, once per Logon.
void SeatGuard::vet_password(const std::string& session, const std::string& password,
                             const std::string& peer) {
  std::string hash;
  const Digest digest = sha256(password);
  {
    std::lock_guard lock(mutex_);
    if (known_verdict({session, peer}, digest, hash) != Verdict::unchecked) return;
  }
  const bool right = verify(hash, password);
  std::lock_guard lock(mutex_);
  const auto seat = seats_.find(session);
  if (seat == seats_.end() || seat->second.password_hash != hash) return;  // changed meanwhile
  (right ? verified_ : refused_)[session] = digest;
}

}  // namespace gpux::fix
