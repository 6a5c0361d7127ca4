// Statements of account: built from the replayed history, checked against
// the ledger, written as CSV and a print-ready page, printed to PDF.
#include "report/statement.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "report/journal_replay.h"
#include "report/page.h"

extern char** environ;

namespace gpux::report {

namespace {

using settlement::AccountKind;

constexpr std::int64_t kNanosecondsPerSecond = 1'000'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

// "2025-11-30 01:02:03" UTC.
std::string date_time(matching::Nanoseconds time) {
  const std::int64_t day = day_of(time);
  const std::int64_t in_day =
      (time - day * kSecondsPerDay * kNanosecondsPerSecond) / kNanosecondsPerSecond;
  char clock[32];
  std::snprintf(clock, sizeof clock, " %02lld:%02lld:%02lld", static_cast<long long>(in_day / 3600),
                static_cast<long long>(in_day / 60 % 60), static_cast<long long>(in_day % 60));
  return format_day(day) + clock;
}

std::string compact_day(std::int64_t day) {
  std::string text = format_day(day);
  text.erase(std::remove(text.begin(), text.end(), '-'), text.end());
  return text;
}

bool held(AccountKind kind) {
  return kind == AccountKind::available || kind == AccountKind::reserved ||
         kind == AccountKind::escrow || kind == AccountKind::collateral;
}

// What the exchange holds for `participant` in `ledger`.
Money balance_of(const settlement::Ledger& ledger, ParticipantId participant) {
  Money sum = 0;
  for (const auto& [account, balance] : ledger.balances())
    if (account.owner == participant && held(account.kind)) sum += balance;
  return sum;
}

Money account(const settlement::Ledger& ledger, ParticipantId participant, AccountKind kind) {
  const auto it = ledger.balances().find({.owner = participant, .kind = kind});
  return it == ledger.balances().end() ? 0 : it->second;
}

class StatementBuilder {
 public:
  StatementBuilder(const History& history, ParticipantId participant)
      : history_(history), participant_(participant) {}

  // The day's lines in journal order: postings that cross into or out of
  // what the participant holds, and each settlement it was a side of.
  void add_day(const Day& day) {
    std::size_t next_settlement = 0;
    const auto settle_through = [&](matching::SequenceNumber sequence) {
      for (; next_settlement < day.settlements.size() &&
             day.settlements[next_settlement].stamp.sequence <= sequence;
           ++next_settlement)
        settled(day.settlements[next_settlement]);
    };
    for (const matching::LedgerPosting& p : day.postings) {
      settle_through(p.stamp.sequence);
      posting(p);
    }
    settle_through(history_.last_sequence);
  }

  std::vector<StatementLine> lines;
  Money crossing = 0;  // the sum of the postings into and out of what it holds

 private:
  bool holds(const settlement::AccountRef& a) const {
    return a.owner == participant_ && held(a.kind);
  }

  void posting(const matching::LedgerPosting& p) {
    const settlement::Posting& posting = p.posting;
    const bool from = holds(posting.from), to = holds(posting.to);
    if (from != to) crossing += to ? posting.amount : -posting.amount;
    using settlement::PostingReason;
    const auto line = [&](const char* kind, const char* description, Money amount,
                          Money collateral) {
      lines.push_back({.time = p.stamp.time,
                       .trade = "",
                       .kind = kind,
                       .description = description,
                       .quantity = 0,
                       .price = 0,
                       .amount = amount,
                       .balance = 0,
                       .collateral = collateral});
    };
    switch (posting.reason) {
      case PostingReason::deposit:
        if (to) line("deposit", "Deposit", posting.amount, 0);
        break;
      case PostingReason::withdrawal:
        if (from) line("withdrawal", "Withdrawal", -posting.amount, 0);
        break;
      case PostingReason::collateral:
        if (to && posting.to.kind == AccountKind::collateral)
          line("collateral_pledged", "Collateral pledged from your available cash", 0,
               posting.amount);
        if (from && posting.from.kind == AccountKind::collateral)
          line("collateral_returned", "Collateral returned to your available cash", 0,
               -posting.amount);
        break;
      default:  // settlement's postings are stated per trade, from its figures
        break;
    }
  }

  std::string symbol(matching::InstrumentId id) const {
    const auto it = history_.instruments.find(id);
    return it == history_.instruments.end() ? "instrument " + std::to_string(id)
                                            : it->second.symbol;
  }

  // A settled trade from the participant's side. The lines are the trade's
  // whole quantity x price, then what the hours not proven take off it, so
  // that they sum to what the settlement's postings moved.
  void settled(const matching::ObligationSettled& s) {
    const auto& f = s.figures;
    const Money notional = s.price * s.quantity;
    const Money proven = f.paid_to_provider + f.provider_fee;  // verified units x price
    const std::string trade = std::to_string(s.trade);
    const auto it = history_.traded_at.find(s.trade);
    const std::string traded =
        " (trade " + trade + (it == history_.traded_at.end() ? "" : ", " + date_time(it->second)) +
        ")";
    const std::string unproven = std::to_string(f.unverified) + " of " +
                                 std::to_string(s.quantity) +
                                 (s.quantity == 1 ? " GPU-hour" : " GPU-hours") + " not proven";
    const auto line = [&](const char* kind, std::string description, matching::Quantity quantity,
                          Money amount, Money collateral = 0) {
      lines.push_back({.time = s.stamp.time,
                       .trade = trade,
                       .kind = kind,
                       .description = std::move(description),
                       .quantity = quantity,
                       .price = quantity == 0 ? 0 : s.price,
                       .amount = amount,
                       .balance = 0,
                       .collateral = collateral});
    };
    if (s.buyer == participant_) {
      line("bought", "Bought " + symbol(s.instrument) + traded, s.quantity, -notional);
      if (notional != proven)
        line("not_charged", "Not charged: " + unproven, f.unverified, notional - proven);
      if (f.buyer_fee != 0) line("buyer_fee", "Fee on trade " + trade, 0, -f.buyer_fee);
    }
    if (s.provider == participant_) {
      line("sold", "Sold " + symbol(s.instrument) + traded, s.quantity, notional);
      if (notional != proven)
        line("not_paid", "Not paid: " + unproven, f.unverified, proven - notional);
      if (f.provider_fee != 0) line("provider_fee", "Fee on trade " + trade, 0, -f.provider_fee);
      if (f.penalty != 0)
        line("penalty",
             "Penalty from collateral: " + unproven +
                 (f.penalty_shortfall == 0
                      ? ""
                      : "; " + ops::usd(f.penalty_shortfall) + " USD more not covered"),
             0, -f.penalty, -f.penalty);
    }
  }

  const History& history_;
  ParticipantId participant_;
};

}  // namespace

std::set<ParticipantId> statement_participants(const History& history, std::int64_t from_day,
                                               std::int64_t to_day) {
  std::set<ParticipantId> participants;
  for (auto it = history.days.lower_bound(from_day);
       it != history.days.end() && it->first <= to_day; ++it)
    participants.merge(active_participants(history, it->second));
  const settlement::Ledger closing = ledger_after(history, to_day);
  for (const auto& [account, balance] : closing.balances())
    if (account.owner != settlement::kExchange && balance != 0) participants.insert(account.owner);
  return participants;
}

Statement build_statement(const History& history, std::int64_t from_day, std::int64_t to_day,
                          ParticipantId participant,
                          const std::map<ParticipantId, std::string>& names) {
  const auto name = names.find(participant);
  Statement s;
  s.number = "GPUX-S-" + std::to_string(participant) + "-" + compact_day(from_day) + "-" +
             compact_day(to_day);
  s.participant = participant;
  s.participant_name = "participant " + std::to_string(participant) +
                       (name == names.end() ? "" : " (" + name->second + ")");
  s.from = format_day(from_day);
  s.to = format_day(to_day);
  s.through_sequence = history.last_sequence;
  const settlement::Ledger opening = ledger_before(history, from_day);
  const settlement::Ledger closing = ledger_after(history, to_day);
  StatementBuilder builder(history, participant);
  for (auto it = history.days.lower_bound(from_day);
       it != history.days.end() && it->first <= to_day; ++it)
    builder.add_day(it->second);
  s.opening = balance_of(opening, participant);
  Money running = s.opening;
  for (StatementLine& line : builder.lines) {
    running += line.amount;
    line.balance = running;
    if (line.amount >= 0)
      s.credits += line.amount;
    else
      s.debits -= line.amount;
  }
  s.lines = std::move(builder.lines);
  s.closing = balance_of(closing, participant);
  s.available = account(closing, participant, AccountKind::available);
  s.reserved = account(closing, participant, AccountKind::reserved);
  s.escrow = account(closing, participant, AccountKind::escrow);
  s.collateral = account(closing, participant, AccountKind::collateral);
  s.receivable = account(closing, participant, AccountKind::receivable);
  // Two ways to the same closing: the lines, and the ledger's postings.
  s.reconciled = running == s.closing && s.opening + builder.crossing == s.closing;
  return s;
}

namespace {

std::vector<Figure> summary_of(const Statement& s) {
  const Money net = s.receivable - s.escrow;
  return {
      {"statement", "Statement", s.number},
      {"participant", "Participant", s.participant_name},
      {"period", "Period (UTC)", s.from == s.to ? s.from : s.from + " to " + s.to},
      {"opening_balance_usd", "Opening balance (USD)", ops::usd(s.opening)},
      {"credits_usd", "Credits (USD)", ops::usd(s.credits)},
      {"debits_usd", "Debits (USD)", ops::usd(-s.debits)},
      {"closing_balance_usd", "Closing balance (USD)", ops::usd(s.closing)},
      {"available_usd", "of which available (USD)", ops::usd(s.available)},
      {"reserved_usd", "of which reserved for open buy orders (USD)", ops::usd(s.reserved)},
      {"escrow_usd", "of which in escrow for hours bought, not yet settled (USD)",
       ops::usd(s.escrow)},
      {"collateral_usd", "of which pledged as collateral (USD)", ops::usd(s.collateral)},
      {"receivable_usd", "Receivable for hours sold, paid as they are proven (USD)",
       ops::usd(s.receivable)},
      {"net_receivable_usd",
       net >= 0 ? "Net receivable from settlements to come (USD)"
                : "Net payable in settlements to come (USD)",
       ops::usd(net)},
      {"reconciles", "Opening balance and lines reconcile to the closing balance",
       s.reconciled ? "yes" : "no"},
  };
}

Table lines_table(const Statement& s) {
  Table table{.name = "statement",
              .title = "Lines",
              .columns = {"time", "trade", "kind", "description", "quantity", "price_usd",
                          "amount_usd", "balance_usd", "collateral_usd"},
              .rows = {}};
  for (const StatementLine& l : s.lines)
    table.rows.push_back({date_time(l.time), l.trade, l.kind, l.description,
                          l.quantity == 0 ? "" : std::to_string(l.quantity),
                          l.price == 0 ? "" : ops::usd(l.price), ops::usd(l.amount),
                          ops::usd(l.balance), l.collateral == 0 ? "" : ops::usd(l.collateral)});
  return table;
}

std::string render_statement(const Statement& s, const Table& lines) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gpux statement " +
      page::escape(s.number) + "</title><style>" + page::kStyle +
      "</style></head><body class=\"statement\">\n";
  html += "<h1>gpux statement of account " + page::escape(s.number) + "</h1>";
  html +=
      "<p class=\"meta\">" + page::escape(s.participant_name) +
      (s.from == s.to ? ", trading day " + s.from : ", trading days " + s.from + " to " + s.to) +
      " (UTC), from the journal through command " + std::to_string(s.through_sequence) +
      ". The balance is your money at the exchange: available, reserved, in escrow and "
      "pledged as collateral. USD to the cent; statement.csv holds the exact micro-USD.</p>\n";
  html += "<h2>Summary</h2>" + page::summary_table(summary_of(s), "reconciles") + "\n";
  // The kind is for machines; the description says it to people.
  Table shown = lines;
  const auto kind = static_cast<std::ptrdiff_t>(
      std::find(shown.columns.begin(), shown.columns.end(), "kind") - shown.columns.begin());
  shown.columns.erase(shown.columns.begin() + kind);
  for (auto& row : shown.rows)
    row.erase(row.begin() + kind);
  html += page::html_table(shown, "lines") + "\n";
  return html + "</body></html>\n";
}

}  // namespace

std::vector<std::filesystem::path> write_statement(const Statement& statement,
                                                   const std::filesystem::path& directory) {
  std::filesystem::create_directories(directory);
  std::vector<std::filesystem::path> written;
  const auto write = [&](const std::string& file, const std::string& content) {
    page::write_file(directory / file, content);
    written.push_back(directory / file);
  };
  const Table lines = lines_table(statement);
  std::string csv = page::csv_line(lines.columns);
  for (const auto& row : lines.rows)
    csv += page::csv_line(row);
  write("statement.csv", csv);
  std::string summary = page::csv_line({"metric", "value"});
  for (const Figure& f : summary_of(statement))
    summary += page::csv_line({f.key, f.value});
  write("statement_summary.csv", summary);
  write("statement.html", render_statement(statement, lines));
  return written;
}

std::string print_to_pdf(const std::filesystem::path& html, const std::filesystem::path& pdf) {
  const char* configured = std::getenv("GPUX_CHROMIUM");
  const std::string chromium = configured != nullptr && *configured ? configured : "chromium";
  const std::filesystem::path profile = pdf.string() + ".chromium";
  const std::filesystem::path partial = pdf.string() + ".partial";
  std::vector<std::string> arguments{chromium,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--no-pdf-header-footer",
                                     "--user-data-dir=" + profile.string(),
                                     "--print-to-pdf=" + partial.string(),
                                     "file://" + std::filesystem::absolute(html).string()};
  std::vector<char*> argv;
  for (std::string& a : arguments)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  // Chromium talks on stderr about its own setup; that is not the user's news.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, chromium.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    return "cannot run " + chromium + " (" + std::strerror(spawned) +
           "); install chromium or set GPUX_CHROMIUM";
  // A Chromium that hangs (a broken profile, a GPU driver) must not hang
  // the report: it is given two minutes, then killed.
  int status = 0;
  bool timed_out = false;
  for (int waited_ms = 0;; waited_ms += 50) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    if (waited_ms >= 120'000 && !timed_out) {
      timed_out = true;
      ::kill(pid, SIGKILL);
    }
    ::usleep(50'000);
  }
  std::error_code ignored;
  std::filesystem::remove_all(profile, ignored);
  if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      std::filesystem::file_size(partial, ignored) == 0 || ignored) {
    std::filesystem::remove(partial, ignored);
    return chromium + (timed_out ? " took over two minutes to print " : " did not print ") +
           html.string();
  }
  std::filesystem::rename(partial, pdf);
  return "";
}

}  // namespace gpux::report
