// One day of the history, seen from the whole exchange or from one
// participant: the tables, the summary figures computed from the same rows,
// and the chart series.
#include <cstdio>

#include "gpux/verify/verifier.h"
#include "report/journal_replay.h"
#include "report/report.h"

namespace gpux::report {

namespace {

using matching::InstrumentId;
using matching::Nanoseconds;
using matching::Quantity;
using settlement::AccountKind;
using settlement::AccountRef;

constexpr std::int64_t kNanosecondsPerSecond = 1'000'000'000;

constexpr std::int64_t kNanosecondsPerDay = 86'400 * kNanosecondsPerSecond;

Nanoseconds since_midnight(Nanoseconds time) {
  return (time % kNanosecondsPerDay + kNanosecondsPerDay) % kNanosecondsPerDay;
}

// "15:04:05.123" UTC: every row of a report lies within its day.
std::string time_of_day(Nanoseconds time) {
  const Nanoseconds in_day = since_midnight(time);
  const std::int64_t seconds = in_day / kNanosecondsPerSecond;
  char text[32];
  std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld.%03lld",
                static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
                static_cast<long long>(seconds % 60),
                static_cast<long long>(in_day % kNanosecondsPerSecond / 1'000'000));
  return text;
}

std::size_t hour_of_day(Nanoseconds time) {
  return static_cast<std::size_t>(since_midnight(time) / (3600 * kNanosecondsPerSecond));
}

std::string n(std::int64_t value) {
  return std::to_string(value);
}

class Builder {
 public:
  Builder(const History& history, const Day& day, std::optional<ParticipantId> participant,
          const std::map<ParticipantId, std::string>& names)
      : history_(history), day_(day), participant_(participant), names_(names) {}

  void build(Report& report) {
    report.through_sequence = history_.last_sequence;
    if (participant_) {
      report.scope = "participant-" + n(*participant_);
      report.scope_name = name(*participant_);
    } else {
      report.scope = "exchange";
      report.scope_name = "the whole exchange";
    }
    trades(report);
    blocks(report);
    verification(report);
    settlements(report);
    balances(report);
    cash_flow(report);
    report.summary.push_back(
        {"balances_reconcile", "Balances reconcile", report.reconciled ? "yes" : "no"});
  }

 private:
  bool in_scope(ParticipantId a, ParticipantId b) const {
    return !participant_ || *participant_ == a || *participant_ == b;
  }

  std::string name(ParticipantId p) const {
    const auto it = names_.find(p);
    return "participant " + n(p) + (it == names_.end() ? "" : " (" + it->second + ")");
  }

  std::string product(InstrumentId id) const {
    const auto it = history_.instruments.find(id);
    return it == history_.instruments.end() ? "instrument " + n(id) : it->second.symbol;
  }

  void trades(Report& report) {
    Table table{"trades",
                "Trades",
                {"time", "trade", "product", "buyer", "seller", "aggressor", "quantity",
                 "price_usd", "notional_usd", "block"},
                {}};
    std::set<matching::OrderId> block_ids;
    for (const matching::BlockOrderFilled& b : day_.blocks)
      block_ids.insert(b.block);
    struct Hour {
      Quantity volume = 0;
      __int128 notional = 0;
      std::uint64_t trades = 0;
    };
    std::map<std::string, std::array<Hour, 24>> hours;  // by product
    Quantity volume = 0;
    Money notional = 0;
    for (const matching::Trade& t : day_.trades) {
      const bool buyer_took = t.aggressor == matching::Side::buy;
      const ParticipantId buyer = buyer_took ? t.taker : t.maker;
      const ParticipantId seller = buyer_took ? t.maker : t.taker;
      if (!in_scope(buyer, seller)) continue;
      // A block's legs name it; other trades leave the column empty. Where
      // blocks met, both sides are blocks: a participant's statement names
      // its own, the exchange's the taker's.
      const bool maker_side =
          participant_ ? *participant_ == t.maker : !block_ids.contains(t.taker_order);
      const matching::OrderId side_order = maker_side ? t.maker_order : t.taker_order;
      const std::string block = block_ids.contains(side_order) ? n(side_order) : "";
      table.rows.push_back({time_of_day(t.stamp.time), n(t.trade), product(t.instrument), n(buyer),
                            n(seller), matching::to_string(t.aggressor), n(t.quantity),
                            ops::usd(t.price), ops::usd(t.price * t.quantity), block});
      volume += t.quantity;
      notional += t.price * t.quantity;
      Hour& hour = hours[product(t.instrument)][hour_of_day(t.stamp.time)];
      hour.volume += t.quantity;
      hour.notional += static_cast<__int128>(t.price) * t.quantity;
      ++hour.trades;
    }
    report.summary.push_back({"trades", "Trades", n(static_cast<std::int64_t>(table.rows.size()))});
    report.summary.push_back({"volume_units", "Volume (GPU-hour units)", n(volume)});
    report.summary.push_back({"notional_usd", "Notional (USD)", ops::usd(notional)});
    report.tables.push_back(std::move(table));

    Table hourly{"hourly",
                 "Hourly volume and VWAP per product",
                 {"product", "hour", "trades", "volume", "vwap_usd"},
                 {}};
    for (const auto& [name, by_hour] : hours) {
      ProductHours series{name, {}, {}};
      for (std::size_t h = 0; h < by_hour.size(); ++h) {
        if (by_hour[h].trades == 0) continue;
        // VWAP rounded down to the micro-USD.
        const auto vwap = static_cast<matching::Price>(by_hour[h].notional / by_hour[h].volume);
        series.volume[h] = by_hour[h].volume;
        series.vwap[h] = vwap;
        char hour[8];
        std::snprintf(hour, sizeof hour, "%02zu", h);
        hourly.rows.push_back({name, hour, n(static_cast<std::int64_t>(by_hour[h].trades)),
                               n(by_hour[h].volume), ops::usd(vwap)});
      }
      report.hourly.push_back(std::move(series));
    }
    report.tables.push_back(std::move(hourly));
  }

  // Filled block orders: a participant sees its own; each block's legs are
  // in the trades table under its id, where the counterparties see them.
  void blocks(Report& report) {
    Table table{"blocks",
                "Block orders filled",
                {"time", "block", "participant", "side", "first_product", "hours", "units",
                 "limit_usd", "notional_usd", "legs"},
                {}};
    for (const matching::BlockOrderFilled& b : day_.blocks) {
      if (participant_ && *participant_ != b.participant) continue;
      table.rows.push_back({time_of_day(b.stamp.time), n(b.block), n(b.participant),
                            matching::to_string(b.side), product(b.first_instrument), n(b.hours),
                            n(b.units), ops::usd(b.limit), ops::usd(b.notional), n(b.legs)});
    }
    report.summary.push_back(
        {"blocks_filled", "Block orders filled", n(static_cast<std::int64_t>(table.rows.size()))});
    report.tables.push_back(std::move(table));
  }

  // Challenge outcomes recorded this day, grouped by provider for the
  // exchange (who delivers?) and by product for a participant.
  void verification(Report& report) {
    Table table{
        "challenges",
        "Verification challenges",
        {"time", "trade", "challenge", "product", "provider", "buyer", "outcome", "failure"},
        {}};
    std::map<std::string, PassRate> groups;
    std::uint64_t recorded = 0, passed = 0;
    for (const matching::ChallengeRecorded& c : day_.challenges) {
      const auto it = history_.obligations.find(c.trade);
      if (it == history_.obligations.end()) continue;  // the engine records none without one
      const matching::ObligationCreated& o = it->second;
      if (!in_scope(o.buyer, o.provider)) continue;
      std::string failure;
      if (c.outcome == matching::ChallengeOutcome::failed)
        failure = c.failure <= static_cast<std::uint32_t>(verify::Failure::no_access)
                      ? verify::to_string(static_cast<verify::Failure>(c.failure))
                      : "code " + n(c.failure);
      // Numbered from 1, as gpuxd's and the agent's logs say them.
      table.rows.push_back({time_of_day(c.stamp.time), n(c.trade), n(c.index + 1),
                            product(o.instrument), n(o.provider), n(o.buyer),
                            matching::to_string(c.outcome), failure});
      const std::string group = participant_ ? product(o.instrument) : name(o.provider);
      PassRate& rate = groups[group];
      rate.label = group;
      ++rate.recorded;
      ++recorded;
      if (c.outcome == matching::ChallengeOutcome::passed) {
        ++rate.passed;
        ++passed;
      }
    }
    report.summary.push_back(
        {"challenges_recorded", "Challenges recorded", n(static_cast<std::int64_t>(recorded))});
    report.summary.push_back(
        {"challenges_passed", "Challenges passed", n(static_cast<std::int64_t>(passed))});
    report.summary.push_back(
        {"pass_rate_percent", "Verification pass rate (%)", percent(passed, recorded)});
    report.tables.push_back(std::move(table));

    Table rates{
        "pass_rate",
        participant_ ? "Verification pass rate by product" : "Verification pass rate by provider",
        {participant_ ? "product" : "provider", "recorded", "passed", "pass_rate_percent"},
        {}};
    for (const auto& [group, rate] : groups) {
      rates.rows.push_back({group, n(static_cast<std::int64_t>(rate.recorded)),
                            n(static_cast<std::int64_t>(rate.passed)),
                            percent(rate.passed, rate.recorded)});
      report.pass_rates.push_back(rate);
    }
    report.tables.push_back(std::move(rates));
  }

  void settlements(Report& report) {
    Table table{
        "settlements",
        "Settlements",
        {"time", "trade", "product", "buyer", "provider", "quantity", "price_usd", "challenges",
         "passed", "verified_units", "unverified_units", "paid_to_provider_usd", "buyer_fee_usd",
         "provider_fee_usd", "refund_unverified_usd", "fee_hold_released_usd", "penalty_usd",
         "penalty_shortfall_usd"},
        {}};
    // Sums over the settlements in scope; for a participant, also by the
    // side it was on, so that its statement shows its own figures only.
    struct Sums {
      settlement::SettlementFigures figures;
      // The escrow's return to the buyer is two things (see
      // settlement::refund_for_unverified); only the first is about the
      // delivery: a provider that proved every hour refunds nothing.
      Money refund_unverified = 0, fee_hold_released = 0;
      std::size_t settled = 0;
      void add(const settlement::SettlementFigures& f, Money unverified) {
        figures.verified += f.verified;
        figures.unverified += f.unverified;
        figures.paid_to_provider += f.paid_to_provider;
        figures.buyer_fee += f.buyer_fee;
        figures.provider_fee += f.provider_fee;
        figures.penalty += f.penalty;
        figures.penalty_shortfall += f.penalty_shortfall;
        refund_unverified += unverified;
        fee_hold_released += f.refund - unverified;
        ++settled;
      }
    };
    Sums all, as_buyer, as_provider;
    for (const matching::ObligationSettled& s : day_.settlements) {
      if (!in_scope(s.buyer, s.provider)) continue;
      const auto& f = s.figures;
      const Money unverified = settlement::refund_for_unverified(f, s.price);
      table.rows.push_back(
          {time_of_day(s.stamp.time), n(s.trade), product(s.instrument), n(s.buyer), n(s.provider),
           n(s.quantity), ops::usd(s.price), n(s.challenges), n(s.passed), n(f.verified),
           n(f.unverified), ops::usd(f.paid_to_provider), ops::usd(f.buyer_fee),
           ops::usd(f.provider_fee), ops::usd(unverified), ops::usd(f.refund - unverified),
           ops::usd(f.penalty), ops::usd(f.penalty_shortfall)});
      all.add(f, unverified);
      if (participant_ && s.buyer == *participant_) as_buyer.add(f, unverified);
      if (participant_ && s.provider == *participant_) as_provider.add(f, unverified);
    }
    report.summary.insert(
        report.summary.end(),
        {{"obligations_settled", "Obligations settled", n(static_cast<std::int64_t>(all.settled))},
         {"verified_units", "Verified units", n(all.figures.verified)},
         {"unverified_units", "Unverified units", n(all.figures.unverified)}});
    if (!participant_) {
      report.summary.insert(
          report.summary.end(),
          {{"paid_to_providers_usd", "Paid to providers (USD)",
            ops::usd(all.figures.paid_to_provider)},
           {"buyer_fees_usd", "Buyer fees (USD)", ops::usd(all.figures.buyer_fee)},
           {"provider_fees_usd", "Provider fees (USD)", ops::usd(all.figures.provider_fee)},
           {"refunds_usd", "Refunds to buyers for unverified hours (USD)",
            ops::usd(all.refund_unverified)},
           {"fee_holds_released_usd", "Buyers' unused fee holds released (USD)",
            ops::usd(all.fee_hold_released)},
           {"penalties_usd", "Penalties (USD)", ops::usd(all.figures.penalty)},
           {"penalty_shortfall_usd", "Penalties not covered by collateral (USD)",
            ops::usd(all.figures.penalty_shortfall)}});
    } else {
      // Only the rows of the sides the participant settled on, in its words.
      if (as_buyer.settled > 0)
        report.summary.insert(
            report.summary.end(),
            {{"buyer_fees_usd", "Fees you paid as a buyer (USD)",
              ops::usd(as_buyer.figures.buyer_fee)},
             {"refunds_received_usd", "Refunded to you for hours not proven (USD)",
              ops::usd(as_buyer.refund_unverified)},
             {"fee_holds_released_usd", "Your unused fee holds released (USD)",
              ops::usd(as_buyer.fee_hold_released)}});
      if (as_provider.settled > 0)
        report.summary.insert(
            report.summary.end(),
            {{"paid_to_providers_usd", "Paid to you for proven hours (USD)",
              ops::usd(as_provider.figures.paid_to_provider)},
             {"provider_fees_usd", "Fees you paid as a provider (USD)",
              ops::usd(as_provider.figures.provider_fee)},
             {"refunds_usd", "Refunded to your buyers for hours you did not prove (USD)",
              ops::usd(as_provider.refund_unverified)},
             {"penalties_usd", "Penalties you paid (USD)", ops::usd(as_provider.figures.penalty)},
             {"penalty_shortfall_usd", "Your penalties not covered by collateral (USD)",
              ops::usd(as_provider.figures.penalty_shortfall)}});
    }
    report.tables.push_back(std::move(table));
  }

  // The rows of the balance table an account counts in; nullopt outside the
  // scope. The exchange sees its own accounts and every participant account
  // of a kind summed.
  std::optional<std::size_t> balance_row(const AccountRef& account) const {
    if (participant_ && account.owner != *participant_) return std::nullopt;
    return static_cast<std::size_t>(account.kind);
  }

  std::string balance_label(std::size_t kind) const {
    const char* account = settlement::to_string(static_cast<AccountKind>(kind));
    if (participant_ || settlement::is_exchange_account(static_cast<AccountKind>(kind)))
      return account;
    return std::string("participants' ") + account;
  }

  void balances(Report& report) {
    constexpr std::size_t kKinds = static_cast<std::size_t>(AccountKind::clearing) + 1;
    struct Row {
      Money opening = 0, in = 0, out = 0, closing = 0;
    };
    std::array<Row, kKinds> rows{};
    // A participant's total counts what crossed into or out of its accounts,
    // not its moves between them (cash reserved, then escrowed, is not
    // money in twice). The exchange's is every posting: the whole ledger.
    Row crossing;
    for (const auto& [account, balance] : day_.opening.balances())
      if (const auto row = balance_row(account)) rows[*row].opening += balance;
    for (const auto& [account, balance] : day_.closing.balances())
      if (const auto row = balance_row(account)) rows[*row].closing += balance;
    for (const auto& p : day_.postings) {
      const auto to = balance_row(p.posting.to);
      const auto from = balance_row(p.posting.from);
      if (to) rows[*to].in += p.posting.amount;
      if (from) rows[*from].out += p.posting.amount;
      if (to && !from) crossing.in += p.posting.amount;
      if (from && !to) crossing.out += p.posting.amount;
    }
    Table table{"balances",
                "Opening and closing balances",
                {"account", "opening_usd", "in_usd", "out_usd", "closing_usd", "reconciles"},
                {}};
    Row total;
    report.reconciled = true;
    for (std::size_t kind = 0; kind < kKinds; ++kind) {
      const Row& r = rows[kind];
      const bool participant_kind =
          !settlement::is_exchange_account(static_cast<AccountKind>(kind));
      if (participant_ && !participant_kind) continue;
      const bool reconciles = r.opening + r.in - r.out == r.closing;
      report.reconciled = report.reconciled && reconciles;
      table.rows.push_back({balance_label(kind), ops::usd(r.opening), ops::usd(r.in),
                            ops::usd(r.out), ops::usd(r.closing), reconciles ? "yes" : "no"});
      total.opening += r.opening;
      total.in += r.in;
      total.out += r.out;
      total.closing += r.closing;
    }
    if (participant_) {
      total.in = crossing.in;
      total.out = crossing.out;
      report.summary.push_back(
          {"collateral_usd", "Collateral held at the close (USD)",
           ops::usd(rows[static_cast<std::size_t>(AccountKind::collateral)].closing)});
    }
    // For the exchange the total is the whole ledger: zero, or a posting was
    // lost or invented.
    const bool total_reconciles = total.opening + total.in - total.out == total.closing &&
                                  (participant_ || (total.opening == 0 && total.closing == 0));
    report.reconciled = report.reconciled && total_reconciles;
    table.rows.push_back({"total", ops::usd(total.opening), ops::usd(total.in), ops::usd(total.out),
                          ops::usd(total.closing), total_reconciles ? "yes" : "no"});
    report.summary.push_back(
        {"opening_balance_usd", "Opening balance, all accounts (USD)", ops::usd(total.opening)});
    report.summary.push_back(
        {"closing_balance_usd", "Closing balance, all accounts (USD)", ops::usd(total.closing)});
    report.tables.push_back(std::move(table));
  }

  // The exchange: gross money moved, by reason. A participant: what entered
  // and left their cash (available, reserved, escrow, collateral; the
  // receivable is a claim, not cash), by reason.
  void cash_flow(Report& report) {
    const auto is_cash = [&](const AccountRef& a) {
      return a.owner == *participant_ && a.kind != AccountKind::receivable &&
             !settlement::is_exchange_account(a.kind);
    };
    std::map<settlement::PostingReason, std::pair<std::uint64_t, CashFlow>> reasons;
    Money deposits = 0, withdrawals = 0;
    for (const auto& p : day_.postings) {
      const settlement::Posting& posting = p.posting;
      Money in = 0, out = 0;
      if (!participant_) {
        in = posting.amount;
      } else {
        const bool from = is_cash(posting.from), to = is_cash(posting.to);
        if (from == to) continue;  // outside their cash, or within it
        (to ? in : out) = posting.amount;
      }
      auto& [count, flow] = reasons[posting.reason];
      ++count;
      flow.reason = settlement::to_string(posting.reason);
      flow.in += in;
      flow.out += out;
      if (posting.reason == settlement::PostingReason::deposit) deposits += posting.amount;
      if (posting.reason == settlement::PostingReason::withdrawal) withdrawals += posting.amount;
    }
    // The provider's fee leaves the buyer's escrow with the buyer's own fee
    // (both are fee postings), but the buyer pays it as part of the price of
    // the proven hours: its statement shows it there, so that its fee row is
    // its own fees, as the summary says.
    if (participant_) {
      Money provider_fees = 0;
      for (const matching::ObligationSettled& s : day_.settlements)
        if (s.buyer == *participant_) provider_fees += s.figures.provider_fee;
      if (provider_fees != 0) {
        auto& fee = reasons[settlement::PostingReason::fee].second;
        auto& payout = reasons[settlement::PostingReason::payout].second;
        fee.out -= provider_fees;
        payout.out += provider_fees;
      }
    }
    report.cash_flow_has_out = participant_.has_value();
    Table table{"cash_flow",
                participant_ ? "Cash flow by reason" : "Money moved by reason",
                participant_
                    ? std::vector<std::string>{"reason", "postings", "in_usd", "out_usd", "net_usd"}
                    : std::vector<std::string>{"reason", "postings", "amount_usd"},
                {}};
    for (const auto& [reason, entry] : reasons) {
      const auto& [count, flow] = entry;
      if (participant_)
        table.rows.push_back({flow.reason, n(static_cast<std::int64_t>(count)), ops::usd(flow.in),
                              ops::usd(flow.out), ops::usd(flow.in - flow.out)});
      else
        table.rows.push_back({flow.reason, n(static_cast<std::int64_t>(count)), ops::usd(flow.in)});
      report.cash_flow.push_back(flow);
    }
    report.summary.push_back({"deposits_usd", "Deposits (USD)", ops::usd(deposits)});
    report.summary.push_back({"withdrawals_usd", "Withdrawals (USD)", ops::usd(withdrawals)});
    report.tables.push_back(std::move(table));
  }

  const History& history_;
  const Day& day_;
  std::optional<ParticipantId> participant_;
  const std::map<ParticipantId, std::string>& names_;
};

}  // namespace

std::string percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "n/a";
  const std::uint64_t per_mille = part * 1000 / whole;
  return std::to_string(per_mille / 10) + "." + std::to_string(per_mille % 10);
}

Report build_report(const History& history, std::int64_t day,
                    std::optional<ParticipantId> participant,
                    const std::map<ParticipantId, std::string>& names) {
  Report report;
  report.day = format_day(day);
  if (const auto it = history.days.find(day); it != history.days.end()) {
    Builder(history, it->second, participant, names).build(report);
    return report;
  }
  // A day without commands: nothing happened, balances stood as the last
  // active day before it closed.
  Day quiet;
  quiet.opening = quiet.closing = ledger_before(history, day);
  Builder(history, quiet, participant, names).build(report);
  return report;
}

}  // namespace gpux::report
