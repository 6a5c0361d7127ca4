// Who may log on as which seat (SenderCompID): each configured seat's
// password hash, checked with Argon2id, and a lockout after too many failed
// logons in one minute, so that passwords cannot be guessed at speed. It
// has its own lock, held only briefly: no password is ever hashed under it,
// nor under the order entry's.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "gpux/fix/config.h"

namespace gpux::fix {

class SeatGuard {
 public:
  // Failed logons a seat may have in one minute; past them, refused unchecked.
  static constexpr int max_failures_per_minute = 5;
  // The current minute, counted from any fixed point.
  using MinuteClock = std::function<long()>;
  static long wall_minute();  // Unix time, in minutes

  // The seats of `clients`, with their configured password hashes
  // (crypto_pwhash_str; empty: no password asked).
  explicit SeatGuard(const std::map<std::string, FixClient>& clients,
                     MinuteClock minute = wall_minute);

  // Empty when `session` may log on with `password`; otherwise why not, in
  // words for the Logout. A wrong password counts as a failure; so does one
  // known wrong from vet_password. Once a seat has max_failures_per_minute
  // failures in the clock's current minute, every logon is refused until the
  // minute changes, the right password too. Hashes (~60 ms) only when
  // vet_password has not already judged this password.
  std::string authenticate(const std::string& session, const std::string& password);
  // Judges `password` ahead of authenticate, on a thread that may wait:
  // afterwards authenticate knows it by its SHA-256 without hashing (the
  // right one until the seat's hash changes, the last wrong one until
  // another is vetted). Counts no failure; does nothing for an unknown seat,
  // while locked out, or when the hash changes meanwhile.
  void vet_password(const std::string& session, const std::string& password);
  // From now on `session`'s password is the one of `hash` (a configured seat
  // only); what was vetted or verified under the old hash is forgotten.
  void set_password_hash(const std::string& session, const std::string& hash);

 private:
  using Digest = std::array<unsigned char, 32>;  // SHA-256
  enum class Verdict { unknown_client, rate_limited, accepted, refused, unchecked };
  // What is known of a password without hashing it (mutex_ held); `hash` is
  // set to the seat's stored hash.
  Verdict known_verdict(const std::string& session, const Digest& digest, std::string& hash) const;
  void count_failure(const std::string& session);  // mutex_ held

  const MinuteClock minute_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> hashes_;  // by seat; every configured seat
  // Failed logons per seat, and the minute they were counted in.
  std::map<std::string, std::pair<int, long>> failures_;
  // SHA-256 of the password each seat last logged on with, and of the last
  // wrong one vetted.
  std::map<std::string, Digest> verified_;
  std::map<std::string, Digest> refused_;
};

}  // namespace gpux::fix
