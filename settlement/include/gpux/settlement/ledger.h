// The double-entry ledger: named accounts and two-sided postings. Every
// posting takes an amount from one account and gives it to another, so the
// balances of all accounts sum to zero after every posting, by construction.
// The engine emits postings as it moves money; this ledger replays them
// independently (audit, reports, tests) and must agree with the engine.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace gpux::settlement {

using Money = std::int64_t;  // micro-USD

// A participant's accounts are the first five; the rest belong to the exchange.
enum class AccountKind : std::uint8_t {
  available,   // the participant's free cash
  reserved,    // held for open buy orders (price x quantity + the maximum fee)
  escrow,      // a buyer's cash for traded GPU-hours awaiting settlement
  collateral,  // a provider's pledge, from which penalties are paid
  receivable,  // what a provider will be paid if every traded hour is verified
  external,    // the world outside: deposits come from it, withdrawals go to it
  fees,        // the exchange's fee income
  penalties,   // penalties collected from providers
  clearing,    // the counterpart of providers' receivables
};

constexpr bool is_exchange_account(AccountKind kind) {
  return kind >= AccountKind::external;
}

// The owner of the exchange's own accounts.
inline constexpr std::uint32_t kExchange = 0xFFFFFFFFu;

struct AccountRef {
  std::uint32_t owner = kExchange;  // participant id, or kExchange
  AccountKind kind = AccountKind::external;
  auto operator<=>(const AccountRef&) const = default;
};

constexpr AccountRef exchange_account(AccountKind kind) {
  return {kExchange, kind};
}

// Why money moved; reports group postings by it.
enum class PostingReason : std::uint8_t {
  deposit,
  withdrawal,
  reserve,         // buy order placed or grown
  release,         // buy order shrunk, cancelled, expired or filled below its limit
  trade,           // buyer's cash into escrow; provider's receivable
  collateral,      // collateral posted or returned
  payout,          // verified GPU-hours paid to the provider
  fee,             // buyer's and provider's fees on verified GPU-hours
  refund,          // escrow back to the buyer: unverified hours and unused fee hold
  receivable_due,  // the provider's receivable closed at settlement
  penalty,         // unverified hours: provider's collateral to the exchange
};

struct Posting {
  AccountRef from;
  AccountRef to;
  Money amount = 0;  // positive
  PostingReason reason = PostingReason::deposit;
  bool operator==(const Posting&) const = default;
};

class Ledger {
 public:
  void apply(const Posting& posting) {
    balances_[posting.from] -= posting.amount;
    balances_[posting.to] += posting.amount;
  }
  Money balance(AccountRef account) const {
    const auto it = balances_.find(account);
    return it == balances_.end() ? 0 : it->second;
  }
  // Zero unless a posting was lost or invented on the way.
  Money sum() const {
    Money total = 0;
    for (const auto& [account, balance] : balances_)
      total += balance;
    return total;
  }
  const std::map<AccountRef, Money>& balances() const { return balances_; }

 private:
  std::map<AccountRef, Money> balances_;
};

const char* to_string(AccountKind);
const char* to_string(PostingReason);

}  // namespace gpux::settlement
