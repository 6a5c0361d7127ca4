// gpux report: settlement reports from gpuxd's journal, one folder
// per trading day and scope (the exchange, each participant).
#include <cstdio>

#include "bench/arguments.h"
#include "gpux/daemon/config.h"
#include "report/journal_replay.h"
#include "report/report.h"
#include "report/statement.h"

namespace {

using namespace gpux;

void usage(const char*) {
  std::printf(
      "usage: gpux report --data-dir DIR --out OUT [--config FILE]\n"
      "                   [--day YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD]\n"
      "                   [--participant ID] [--pdf]\n"
      "\n"
      "Replays DIR's journal and writes, for every trading day (UTC) it holds or\n"
      "only those from --from to --to (or --day), the exchange-wide report and\n"
      "one per participant active that day or only --participant:\n"
      "\n"
      "  OUT/DAY/exchange/        OUT/DAY/participant-ID/\n"
      "    summary.csv      totals, one metric per row (metric,value)\n"
      "    trades.csv       hourly.csv  challenges.csv  pass_rate.csv\n"
      "    settlements.csv  balances.csv  cash_flow.csv\n"
      "    report.html      the same for people, with charts; no network needed\n"
      "\n"
      "and for the whole period, a statement of account per participant:\n"
      "\n"
      "  OUT/statements/FROM_TO/participant-ID/\n"
      "    statement_summary.csv  number, opening and closing balance, net receivable\n"
      "    statement.csv          every line with its running balance\n"
      "    statement.html         the same for people, print-ready\n"
      "    statement.pdf          with --pdf: printed by headless Chromium\n"
      "                           (chromium on PATH, or $GPUX_CHROMIUM)\n"
      "\n"
      "Amounts are USD with six decimals (the ledger's micro-USD). The journal\n"
      "holds the market's fees and delivery terms; --config names the participants\n"
      "by their FIX seats (and gives the terms of a journal from before gpuxd\n"
      "journaled them). The same journal\n"
      "gives byte-identical files. While gpuxd runs on DIR, the journal is read as\n"
      "it stands when gpux report starts (a RocksDB secondary; trading goes on).\n"
      "Exit status: 0 written, 1 a report's balances do not reconcile, 2 usage,\n"
      "3 cannot read DIR or write OUT (or print a statement's PDF with --pdf).\n");
}

// Who delivered: one line per provider over the days reported, on stdout.
void print_provider_summary(const report::History& history, const std::vector<std::int64_t>& days,
                            const std::map<matching::ParticipantId, std::string>& names) {
  struct Totals {
    std::uint64_t obligations = 0, recorded = 0, passed = 0;
    std::int64_t units = 0, verified = 0, unverified = 0;
    matching::Money paid = 0, refunded = 0, penalties = 0;
  };
  std::map<matching::ParticipantId, Totals> providers;
  for (const std::int64_t day : days) {
    const auto it = history.days.find(day);
    if (it == history.days.end()) continue;
    for (const auto& s : it->second.settlements) {
      Totals& t = providers[s.provider];
      ++t.obligations;
      t.units += s.quantity;
      t.verified += s.figures.verified;
      t.unverified += s.figures.unverified;
      t.paid += s.figures.paid_to_provider;
      t.refunded += settlement::refund_for_unverified(s.figures, s.price);  // not fee holds
      t.penalties += s.figures.penalty;
    }
    for (const auto& c : it->second.challenges) {
      const auto o = history.obligations.find(c.trade);
      if (o == history.obligations.end()) continue;
      Totals& t = providers[o->second.provider];
      ++t.recorded;
      t.passed += c.outcome == matching::ChallengeOutcome::passed;
    }
  }
  if (providers.empty()) return;
  std::printf("\nSettlement by provider\n  %-28s %11s %6s %9s %11s %10s %16s %16s %14s\n",
              "provider", "obligations", "units", "verified", "unverified", "pass rate",
              "paid (USD)", "refunded (USD)", "penalty (USD)");
  for (const auto& [id, t] : providers) {
    const auto name = names.find(id);
    const std::string label =
        std::to_string(id) + (name == names.end() ? "" : " (" + name->second + ")");
    const std::string rate = t.recorded == 0 ? "n/a" : report::percent(t.passed, t.recorded) + "%";
    std::printf("  %-28s %11llu %6lld %9lld %11lld %10s %16s %16s %14s\n", label.c_str(),
                static_cast<unsigned long long>(t.obligations), static_cast<long long>(t.units),
                static_cast<long long>(t.verified), static_cast<long long>(t.unverified),
                rate.c_str(), ops::usd(t.paid).c_str(), ops::usd(t.refunded).c_str(),
                ops::usd(t.penalties).c_str());
  }
}

// A statement per participant for [first, last]; returns how many do not
// reconcile, and counts in `unprinted` the PDFs that could not be printed
// (each said; the other files are written all the same).
int write_statements(const report::History& history, std::int64_t first, std::int64_t last,
                     std::optional<matching::ParticipantId> only,
                     const std::map<matching::ParticipantId, std::string>& names,
                     const std::filesystem::path& out, bool pdf, int& unprinted) {
  const auto participants = only ? std::set<matching::ParticipantId>{*only}
                                 : report::statement_participants(history, first, last);
  const std::filesystem::path folder =
      out / "statements" / (report::format_day(first) + "_" + report::format_day(last));
  int unreconciled = 0;
  for (const matching::ParticipantId p : participants) {
    const report::Statement s = report::build_statement(history, first, last, p, names);
    const auto directory = folder / ("participant-" + std::to_string(p));
    report::write_statement(s, directory);
    std::printf("%s  statement %s%s\n", (directory / "statement.html").c_str(), s.number.c_str(),
                s.reconciled ? "" : "  DOES NOT RECONCILE");
    unreconciled += s.reconciled ? 0 : 1;
    if (!pdf) continue;
    const std::string failed =
        report::print_to_pdf(directory / "statement.html", directory / "statement.pdf");
    if (failed.empty())
      std::printf("%s\n", (directory / "statement.pdf").c_str());
    else {
      std::fprintf(stderr, "gpux report: no PDF of statement %s: %s\n", s.number.c_str(),
                   failed.c_str());
      ++unprinted;
    }
  }
  return unreconciled;
}

}  // namespace

int gpux_report(int argc, char** argv) {
  std::string data_dir, out_dir, config_file;
  std::optional<std::int64_t> from_day, to_day;
  std::optional<matching::ParticipantId> only_participant;
  bool pdf = false;
  bool day_given = false;
  const auto parse_day = [](const char* option, const std::string& text) {
    const auto day = report::parse_day(text);
    if (!day)
      std::fprintf(stderr, "gpux report: %s takes a date as YYYY-MM-DD, not '%s'\n", option,
                   text.c_str());
    return day;
  };
  bench::Arguments args(argc + 1, argv - 1, usage);
  while (args.next()) {
    if (args.is("--data-dir")) {
      data_dir = args.value();
    } else if (args.is("--out")) {
      out_dir = args.value();
    } else if (args.is("--config")) {
      config_file = args.value();
    } else if (args.is("--day")) {
      from_day = to_day = parse_day("--day", args.value());
      if (!from_day) return 2;
      day_given = true;
    } else if (args.is("--from")) {
      from_day = parse_day("--from", args.value());
      if (!from_day) return 2;
    } else if (args.is("--to")) {
      to_day = parse_day("--to", args.value());
      if (!to_day) return 2;
    } else if (args.is("--pdf")) {
      pdf = true;
    } else if (args.is("--participant")) {
      only_participant = static_cast<matching::ParticipantId>(args.count(1));
    } else {
      args.unknown();
    }
  }
  if (data_dir.empty() || out_dir.empty()) {
    std::fprintf(stderr, "gpux report: %s is required\n",
                 data_dir.empty() ? "--data-dir" : "--out");
    usage(nullptr);
    return 2;
  }
  if (day_given && (from_day != to_day)) {
    std::fprintf(stderr, "gpux report: give --day, or --from and --to, not both\n");
    return 2;
  }
  if (from_day && to_day && *from_day > *to_day) {
    std::fprintf(stderr, "gpux report: --from %s is after --to %s\n",
                 report::format_day(*from_day).c_str(), report::format_day(*to_day).c_str());
    return 2;
  }
  const auto config = ops::load_daemon_config("gpux report", config_file);
  if (!config) return 2;
  std::map<matching::ParticipantId, std::string> names;
  for (const auto& [comp_id, client] : config->fix.clients) {
    std::string& name = names[client.participant];
    name += (name.empty() ? "" : "/") + comp_id;
  }

  const auto journal = ops::open_journal("gpux report", data_dir);
  if (!journal) return 3;
  report::History history;
  try {
    std::fprintf(stderr, "gpux report: replaying %llu commands from %s\n",
                 static_cast<unsigned long long>(journal->last_sequence()), data_dir.c_str());
    history = report::read_history(*journal, config->pipeline.engine);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpux report: cannot report on %s: %s\n", data_dir.c_str(), e.what());
    return 3;
  }

  if (history.days.empty()) {
    std::fprintf(stderr, "gpux report: the journal is empty; nothing to report\n");
    return 0;
  }
  // The period: as given, else from the journal's first day to its last.
  const std::int64_t first = from_day.value_or(history.days.begin()->first);
  const std::int64_t last = to_day.value_or(std::max(first, history.days.rbegin()->first));
  std::vector<std::int64_t> days;
  for (const auto& [day, records] : history.days)
    if (day >= first && day <= last) days.push_back(day);
  if (day_given && days.empty()) days.push_back(first);  // a quiet day still gets its report

  int unreconciled = 0, unprinted = 0;
  try {
    for (const std::int64_t day : days) {
      std::vector<std::optional<matching::ParticipantId>> scopes{std::nullopt};
      if (only_participant) {
        scopes = {only_participant};
      } else if (const auto it = history.days.find(day); it != history.days.end()) {
        for (const matching::ParticipantId p : report::active_participants(history, it->second))
          scopes.push_back(p);
      }
      for (const auto& scope : scopes) {
        const report::Report r = report::build_report(history, day, scope, names);
        const auto directory = std::filesystem::path(out_dir) / r.day / r.scope;
        report::write_report(r, directory);
        std::printf("%s  %s%s\n", (directory / "report.html").c_str(), r.scope_name.c_str(),
                    r.reconciled ? "" : "  BALANCES DO NOT RECONCILE");
        unreconciled += r.reconciled ? 0 : 1;
      }
    }
    unreconciled += write_statements(history, first, last, only_participant, names,
                                     std::filesystem::path(out_dir), pdf, unprinted);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpux report: cannot write under %s: %s\n", out_dir.c_str(), e.what());
    return 3;
  }
  print_provider_summary(history, days, names);
  if (unreconciled > 0) {
    std::fprintf(stderr, "gpux report: %d report(s) do not reconcile; run gpux audit on %s\n",
                 unreconciled, data_dir.c_str());
    return 1;
  }
  if (unprinted > 0) {
    std::fprintf(stderr,
                 "gpux report: %d statement(s) without their PDF (--pdf); the rest is "
                 "written\n",
                 unprinted);
    return 3;
  }
  return 0;
}
