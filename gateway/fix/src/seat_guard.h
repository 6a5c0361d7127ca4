// Who may log on as which seat (SenderCompID): the seats as the journal has
// them (matching::Seat), each one's password hash checked with Argon2id, and a lockout after too
// many failed logons in one minute, so that passwords cannot be guessed at speed. The lockout is
// per seat and source address: a stranger who guesses wrong locks out only itself, never the seat's
// owner logging on from elsewhere. It has its own lock, held only briefly: no password is ever
// hashed under it, nor under the order entry's.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gpux/matching/access.h"

namespace gpux::fix {

class SeatGuard {
 public:
  // Failed logons a seat may have from one address in one minute; past
  // them, that address is refused for that seat unchecked.
  static constexpr int max_failures_per_minute = 5;
  // Failed logons a seat may have from all addresses in one minute; past
  // them, only addresses it has logged on from before are checked, so that
  // guesses from many addresses can neither queue password hashes without
  // end nor lock out an owner logging on from where it did before.
  static constexpr int max_seat_failures_per_minute = 50;
  // Addresses remembered with failures; past this, failures of earlier
  // minutes are let go (they no longer lock anything out).
  static constexpr std::size_t max_remembered_failures = 4096;
  // Addresses remembered per seat as ones it logged on from.
  static constexpr std::size_t max_known_peers = 16;
  // The current minute, counted from any fixed point.
  using MinuteClock = std::function<long()>;
  static long wall_minute();  // Unix time, in minutes

  // No seats until set() gives them.
  explicit SeatGuard(MinuteClock minute = wall_minute);

  // The seat as the journal has it from now on (a SetSeat, or the recovered
  // state). A new password hash forgets what was vetted or verified under
  // the old one; a disabled seat's Logons are refused with the reason.
  void set(const matching::Seat& seat);
  std::optional<matching::Seat> find(const std::string& session) const;
  // The SenderCompIDs of `participant`'s enabled seats (a walk of them all:
  // for what is rare, such as a delivery's notice).
  std::vector<std::string> enabled_sessions_of(matching::ParticipantId participant) const;

  // Empty when `session` may log on with `password` from `peer` (a source
  // address); otherwise why not, in words for the Logout. A wrong password
  // counts as a failure of (session, peer); so does one known wrong from
  // vet_password. Once (session, peer) has max_failures_per_minute failures
  // in the clock's current minute, every logon of that seat from that
  // address is refused until the minute changes, the right password too;
  // other addresses are not affected, unless the seat has had
  // max_seat_failures_per_minute from all of them: then only addresses it
  // logged on from before are checked. Hashes (~60 ms) only when
  // vet_password has not already judged this password.
  std::string authenticate(const std::string& session, const std::string& password,
                           const std::string& peer);
  // Judges `password` ahead of authenticate, on a thread that may wait:
  // afterwards authenticate knows it by its SHA-256 without hashing (the
  // right one until the seat's hash changes, the last wrong one until
  // another is vetted). Counts no failure; does nothing for an unknown seat,
  // while `peer` is locked out of it, or when the hash changes meanwhile.
  void vet_password(const std::string& session, const std::string& password,
                    const std::string& peer);

 private:
  using Digest = std::array<unsigned char, 32>;  // SHA-256
  enum class Verdict {
    unknown_client,
    disabled,
    rate_limited,
    no_password,
    accepted,
    refused,
    unchecked
  };
  // What is known of a password without hashing it (mutex_ held); `hash` is
  // set to the seat's stored hash.
  using Source = std::pair<std::string, std::string>;  // seat, peer address
  Verdict known_verdict(const Source& source, const Digest& digest, std::string& hash) const;
  void count_failure(const Source& source);  // mutex_ held
  void logged_on(const Source& source);      // mutex_ held

  const MinuteClock minute_;
  mutable std::mutex mutex_;
  std::map<std::string, matching::Seat> seats_;  // by SenderCompID
  // Failed logons per seat and address, and per seat, with the minute they
  // were counted in.
  std::map<Source, std::pair<int, long>> failures_;
  std::map<std::string, std::pair<int, long>> seat_failures_;
  // Where each seat logged on from, most recent last.
  std::map<std::string, std::vector<std::string>> known_peers_;
  // SHA-256 of the password each seat last logged on with, and of the last
  // wrong one vetted.
  std::map<std::string, Digest> verified_;
  std::map<std::string, Digest> refused_;
};

}  // namespace gpux::fix
