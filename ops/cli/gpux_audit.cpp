// gpux audit: replays the whole journal through a fresh engine and reconciles
// what the stores hold against it: every ledger posting (in order), every
// balance, the trade store and every settlement. Exits non-zero on any
// difference, naming it. gpuxd may be running: its journal is then followed.
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench/arguments.h"
#include "gpux/daemon/config.h"
#include "gpux/matching/engine.h"
#include "gpux/storage/journal.h"
#include "gpux/storage/recovery.h"
#include "report/journal_replay.h"

namespace {

using namespace gpux;
using matching::Event;
using settlement::AccountRef;

void usage(const char*) {
  std::printf(
      "usage: gpux audit --data-dir DIR [--config FILE]\n"
      "\n"
      "Replays DIR's journal from its first command and reconciles the ledger\n"
      "postings, every account balance, the trade store and every settlement\n"
      "with the replay. The journal holds the market's fees and delivery terms;\n"
      "--config gives them for a journal from before gpuxd journaled them. While\n"
      "gpuxd runs on DIR, the journal is\n"
      "read as it stands when gpux audit starts (a RocksDB secondary).\n"
      "Exit status: 0 reconciled, 1 differences found, 2 usage, 3 cannot read DIR.\n");
}

// Folds a posting sequence into a value that any reordering, loss or
// change alters.
struct PostingDigest {
  std::uint64_t value = 0xcbf29ce484222325ull;
  std::uint64_t count = 0;
  void add(const settlement::Posting& p) {
    for (std::uint64_t v :
         {std::uint64_t{p.from.owner}, std::uint64_t(p.from.kind), std::uint64_t{p.to.owner},
          std::uint64_t(p.to.kind), static_cast<std::uint64_t>(p.amount), std::uint64_t(p.reason)})
      value = (value ^ v) * 0x100000001b3ull;
    ++count;
  }
};

struct Replay : matching::EventListener {
  settlement::Ledger ledger;
  PostingDigest postings;
  std::map<matching::TradeId, matching::Trade> trades;
  std::map<matching::TradeId, matching::ObligationSettled> settled;
  std::vector<std::string> problems;
  void on_event(const Event& e) override {
    if (const auto* p = std::get_if<matching::LedgerPosting>(&e)) {
      ledger.apply(p->posting);
      postings.add(p->posting);
    } else if (const auto* t = std::get_if<matching::Trade>(&e)) {
      trades[t->trade] = *t;
    } else if (const auto* s = std::get_if<matching::ObligationSettled>(&e)) {
      if (!settled.emplace(s->trade, *s).second)
        problems.push_back("trade " + std::to_string(s->trade) + " settled twice in the journal");
    }
  }
};

std::string account_name(const AccountRef& a) {
  return (a.owner == settlement::kExchange ? std::string("exchange")
                                           : "participant " + std::to_string(a.owner)) +
         " " + settlement::to_string(a.kind);
}

}  // namespace

int gpux_audit(int argc, char** argv) {
  std::string data_dir;
  std::string config_file;
  bench::Arguments args(argc + 1, argv - 1, usage);
  while (args.next()) {
    if (args.is("--data-dir")) {
      data_dir = args.value();
    } else if (args.is("--config")) {
      config_file = args.value();
    } else {
      args.unknown();
    }
  }
  if (data_dir.empty()) {
    std::fprintf(stderr, "gpux audit: --data-dir is required\n");
    usage(nullptr);
    return 2;
  }
  const auto config = ops::load_daemon_config("gpux audit", config_file);
  if (!config) return 2;
  const matching::EngineConfig& engine_config = config->pipeline.engine;
  const auto journal = ops::open_journal("gpux audit", data_dir);
  if (!journal) return 3;

  Replay replay;
  auto engine = matching::make_engine(engine_config, replay);
  std::uint64_t commands = 0;
  std::vector<std::string>& problems = replay.problems;
  for (std::string& p :
       storage::replay_from_start(*journal, *engine, [&](const matching::Command&) { ++commands; }))
    problems.push_back(std::move(p));
  for (const std::string& p : engine->check_invariants())
    problems.push_back("engine after replay: " + p);

  // The ledger store against the replay, posting by posting and balance by balance.
  settlement::Ledger stored;
  PostingDigest stored_postings;
  journal->for_each_posting([&](const matching::LedgerPosting& p) {
    stored.apply(p.posting);
    stored_postings.add(p.posting);
  });
  if (stored.sum() != 0) problems.push_back("stored ledger sums to " + ops::usd(stored.sum()));
  if (stored_postings.count != replay.postings.count ||
      stored_postings.value != replay.postings.value)
    problems.push_back("stored postings (" + std::to_string(stored_postings.count) +
                       ") differ from the replay's (" + std::to_string(replay.postings.count) +
                       ")");
  std::set<AccountRef> accounts;
  for (const auto& [account, balance] : stored.balances())
    accounts.insert(account);
  for (const auto& [account, balance] : replay.ledger.balances())
    accounts.insert(account);
  for (const AccountRef& account : accounts) {
    const auto s = stored.balance(account);
    const auto e = engine->balance(account);
    if (s != e)
      problems.push_back(account_name(account) + ": ledger store " + ops::usd(s) + ", engine " +
                         ops::usd(e));
  }

  // The trade store.
  for (const auto& [id, trade] : replay.trades) {
    const auto found = journal->find_trade(id);
    if (!found || !(*found == trade))
      problems.push_back("trade " + std::to_string(id) + (found ? " differs" : " missing") +
                         " in the trade store");
  }
  if (journal->find_trade(replay.trades.size() + 1))
    problems.push_back("the trade store holds trades the journal does not make");

  // Settlements: stored once each, equal to the replay's, escrow accounted for.
  std::map<matching::TradeId, int> stored_settlements;
  journal->for_each_delivery_event([&](const Event& e) {
    const auto* s = std::get_if<matching::ObligationSettled>(&e);
    if (s == nullptr) return;
    if (++stored_settlements[s->trade] > 1)
      problems.push_back("trade " + std::to_string(s->trade) + " settled twice in the store");
    const auto it = replay.settled.find(s->trade);
    if (it == replay.settled.end() || !(it->second == *s))
      problems.push_back("settlement of trade " + std::to_string(s->trade) +
                         " differs from the replay");
  });
  if (stored_settlements.size() != replay.settled.size())
    problems.push_back(std::to_string(replay.settled.size()) + " settlements replayed, " +
                       std::to_string(stored_settlements.size()) + " stored");
  matching::Money escrow_in = 0, escrow_out = 0;
  for (const auto& [id, s] : replay.settled) {
    const matching::Money notional = s.price * s.quantity;
    escrow_in += notional + settlement::fee(notional, engine_config.buyer_fee_ppm);
    escrow_out += s.figures.paid_to_provider + s.figures.buyer_fee + s.figures.provider_fee +
                  s.figures.refund;
  }
  if (escrow_in != escrow_out)
    problems.push_back("settled escrow " + ops::usd(escrow_in) + " but paid out " +
                       ops::usd(escrow_out));

  const auto exchange = engine->exchange_accounts();
  std::printf("gpux audit: %s\n", data_dir.c_str());
  std::printf("  %-28s %20llu\n", "commands replayed", static_cast<unsigned long long>(commands));
  std::printf("  %-28s %20llu\n", "ledger postings",
              static_cast<unsigned long long>(stored_postings.count));
  std::printf("  %-28s %20zu\n", "ledger accounts", accounts.size());
  std::printf("  %-28s %20zu\n", "trades", replay.trades.size());
  std::printf("  %-28s %20zu\n", "obligations settled", replay.settled.size());
  std::printf("  %-28s %20s\n", "deposits held (USD)", ops::usd(-exchange.external).c_str());
  std::printf("  %-28s %20s\n", "fees (USD)", ops::usd(exchange.fees).c_str());
  std::printf("  %-28s %20s\n", "penalties (USD)", ops::usd(exchange.penalties).c_str());
  std::printf("  %-28s %20s\n", "ledger sum (USD)", ops::usd(stored.sum()).c_str());
  if (problems.empty()) {
    std::printf("reconciled: ledger, balances, trades and settlements agree with the journal\n");
    return 0;
  }
  std::printf("%zu difference(s):\n", problems.size());
  for (const std::string& p : problems)
    std::printf("  - %s\n", p.c_str());
  return 1;
}
