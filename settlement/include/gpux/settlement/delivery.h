// Delivery and settlement rules: when a traded GPU-hour is challenged, how
// much of it counts as delivered, and where its money goes. Pure integer
// functions; the engine applies them deterministically inside its commands.
#pragma once

#include <cstdint>

#include "gpux/settlement/ledger.h"

namespace gpux::settlement {

// One round a minute at most: each challenges every unit delivered in the
// hour, so an obligation's challenges are rounds x its units.
inline constexpr std::uint32_t kMaxRoundsPerHour = 60;

struct DeliveryTerms {
  // Verification rounds in each delivery hour. In a round every unit a
  // provider delivers in that hour is challenged at the same instant, so an
  // obligation of q units has rounds x q challenges (see challenge_round).
  std::uint32_t challenges_per_obligation = 4;
  // Penalty on the notional of unverified GPU-hours, in parts per million,
  // paid from the provider's collateral (at most what the collateral holds).
  std::uint32_t penalty_ppm = 500'000;
  // Seeds the challenge times; recorded with the exchange's configuration.
  std::uint64_t challenge_seed = 0x67707578u;
  bool operator==(const DeliveryTerms&) const = default;
};

// A fee of `ppm` parts per million of `notional`, rounded down (the exchange
// never charges more than the exact rate; the fraction of a micro-USD stays
// with the payer).
Money fee(Money notional, std::uint32_t ppm);

// The time of round `round` of the challenges in the delivery hour
// [delivery_start, delivery_end), uniformly drawn by a keyed mixer: the same
// seed gives the same schedule on every replay. Every unit delivered in that
// hour shares it, whichever provider sold it (one instant per round, so that
// each unit needs its own device, even when one owner sells the same GPUs
// as two providers).
std::int64_t challenge_time(std::uint64_t seed, std::uint32_t round, std::int64_t delivery_start,
                            std::int64_t delivery_end);

// Challenge `index` of an obligation of `quantity` units is unit
// index % quantity in round index / quantity.
struct ChallengeSlot {
  std::uint32_t round = 0;
  std::uint32_t unit = 0;
};
ChallengeSlot challenge_slot(std::uint32_t index, std::int64_t quantity);

// One traded obligation as it stands when its delivery hour is over.
struct DeliveryInput {
  std::int64_t price = 0;              // micro-USD per unit
  std::int64_t quantity = 0;           // units traded
  Money escrow = 0;                    // what the buyer committed (notional + maximum fee)
  std::uint32_t buyer_fee_ppm = 0;     // the buyer's maker or taker rate
  std::uint32_t provider_fee_ppm = 0;  // the provider's maker or taker rate
  std::uint32_t challenges = 0;        // scheduled
  std::uint32_t passed = 0;            // of those, verified
  Money collateral = 0;                // the provider's collateral before the penalty
  std::uint32_t penalty_ppm = 0;
};

// Where the obligation's money goes. Partial delivery settles pro rata:
// verified units = floor(quantity x passed / challenges); with one challenge
// per unit and round, that is the units proven, averaged over the rounds.
struct SettlementFigures {
  std::int64_t verified = 0;
  std::int64_t unverified = 0;
  Money paid_to_provider = 0;  // verified notional minus the provider's fee
  Money buyer_fee = 0;
  Money provider_fee = 0;
  Money refund = 0;  // escrow - verified notional - buyer fee
  Money penalty = 0;
  Money penalty_shortfall = 0;  // penalty the collateral could not cover
  bool operator==(const SettlementFigures&) const = default;
};

SettlementFigures settle(const DeliveryInput& input);

// The part of `f.refund` that returns the notional of the unverified units,
// at `price` each; the rest of it is the buyer's fee hold (taken at the
// taker rate on the whole notional) that the fee charged did not use.
Money refund_for_unverified(const SettlementFigures& f, Money price);

}  // namespace gpux::settlement
