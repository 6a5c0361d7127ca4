#include "gpux/settlement/delivery.h"

#include <algorithm>

#include "gpux/settlement/assert.h"

namespace gpux::settlement {

Money fee(Money notional, std::uint32_t ppm) {
  return static_cast<Money>(static_cast<__int128>(notional) * ppm / 1'000'000);
}

std::int64_t challenge_time(std::uint64_t seed, std::uint32_t round, std::int64_t delivery_start,
                            std::int64_t delivery_end) {
  GPUX_ASSERT(delivery_end > delivery_start);
  // splitmix64 over (seed, hour, round): cheap, keyed, and the same everywhere.
  std::uint64_t z = seed ^ (std::uint64_t{round} << 48) ^
                    (static_cast<std::uint64_t>(delivery_start) * 0xD6E8FEB86659FD93ull);
  for (int pass = 0; pass < 2; ++pass) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
  }
  const auto span = static_cast<std::uint64_t>(delivery_end - delivery_start);
  return delivery_start + static_cast<std::int64_t>(z % span);
}

ChallengeSlot challenge_slot(std::uint32_t index, std::int64_t quantity) {
  GPUX_ASSERT(quantity > 0);
  const auto q = static_cast<std::uint64_t>(quantity);
  return {.round = static_cast<std::uint32_t>(index / q),
          .unit = static_cast<std::uint32_t>(index % q)};
}

SettlementFigures settle(const DeliveryInput& in) {
  GPUX_ASSERT(in.challenges > 0);
  GPUX_ASSERT(in.passed <= in.challenges);
  GPUX_ASSERT(in.quantity > 0);
  SettlementFigures f;
  // With one challenge per unit and round, passed can reach rounds x
  // quantity: the product needs more than 64 bits for large obligations.
  f.verified =
      static_cast<std::int64_t>(static_cast<__int128>(in.quantity) * in.passed / in.challenges);
  f.unverified = in.quantity - f.verified;
  const Money verified_notional = in.price * f.verified;
  f.buyer_fee = fee(verified_notional, in.buyer_fee_ppm);
  f.provider_fee = fee(verified_notional, in.provider_fee_ppm);
  f.paid_to_provider = verified_notional - f.provider_fee;
  f.refund = in.escrow - verified_notional - f.buyer_fee;
  const Money penalty = fee(in.price * f.unverified, in.penalty_ppm);
  f.penalty = std::min(penalty, std::max<Money>(in.collateral, 0));
  f.penalty_shortfall = penalty - f.penalty;
  GPUX_ASSERT_MSG(f.refund >= 0, "the escrow covers the verified notional and the buyer's fee");
  GPUX_ASSERT(f.paid_to_provider >= 0);
  GPUX_ASSERT(f.penalty >= 0 && f.penalty_shortfall >= 0);
  return f;
}

Money refund_for_unverified(const SettlementFigures& f, Money price) {
  return std::min(f.refund, price * f.unverified);
}

const char* to_string(AccountKind kind) {
  switch (kind) {
    case AccountKind::available:
      return "available";
    case AccountKind::reserved:
      return "reserved";
    case AccountKind::escrow:
      return "escrow";
    case AccountKind::collateral:
      return "collateral";
    case AccountKind::receivable:
      return "receivable";
    case AccountKind::external:
      return "external";
    case AccountKind::fees:
      return "fees";
    case AccountKind::penalties:
      return "penalties";
    case AccountKind::clearing:
      return "clearing";
  }
  return "?";
}

const char* to_string(PostingReason reason) {
  switch (reason) {
    case PostingReason::deposit:
      return "deposit";
    case PostingReason::withdrawal:
      return "withdrawal";
    case PostingReason::reserve:
      return "reserve";
    case PostingReason::release:
      return "release";
    case PostingReason::trade:
      return "trade";
    case PostingReason::collateral:
      return "collateral";
    case PostingReason::payout:
      return "payout";
    case PostingReason::fee:
      return "fee";
    case PostingReason::refund:
      return "refund";
    case PostingReason::receivable_due:
      return "receivable_due";
    case PostingReason::penalty:
      return "penalty";
  }
  return "?";
}

}  // namespace gpux::settlement
