// Settlement reports: what one trading day (UTC, by the sequencer's clock)
// held for the whole exchange or for one participant, as CSV tables for
// machines and one self-contained HTML page for people.
//
//   History   the journal replayed once: every day's trades, filled blocks, challenge
//             outcomes, settlements and postings, and the ledger at each
//             day's open and close
//   Report    one (day, scope): summary figures, tables, chart series
//
// Everything is integer and ordered, so the same journal gives byte-identical
// files on every run.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gpux/matching/engine.h"
#include "gpux/storage/journal.h"

namespace gpux::report {

using matching::Money;
using matching::ParticipantId;

struct Day {
  std::vector<matching::Trade> trades;  // a block's legs among them (taker_order = block)
  std::vector<matching::BlockOrderFilled> blocks;
  std::vector<matching::ChallengeRecorded> challenges;
  std::vector<matching::ObligationSettled> settlements;
  std::vector<matching::LedgerPosting> postings;
  settlement::Ledger opening;  // balances before the day's first command
  settlement::Ledger closing;  // and after its last
};

struct History {
  std::map<matching::InstrumentId, matching::InstrumentSpec> instruments;
  std::map<matching::TradeId, matching::ObligationCreated> obligations;
  std::map<matching::TradeId, matching::Nanoseconds> traded_at;  // every trade's time
  std::map<std::int64_t, Day> days;                              // by days since 1970-01-01 (UTC)
  matching::SequenceNumber last_sequence = 0;
};

// Replays `journal` from its first command. Throws std::runtime_error naming
// the problem when the journal cannot be replayed whole.
History read_history(const storage::Journal& journal, const matching::EngineConfig& config);

// "2026-11-30" <-> days since 1970-01-01. parse_day returns nullopt for
// anything but a valid YYYY-MM-DD.
std::string format_day(std::int64_t day);
std::optional<std::int64_t> parse_day(const std::string& text);
// The UTC day of a sequencer time (days since 1970-01-01; floor for
// times before it).
std::int64_t day_of(matching::Nanoseconds time);

// The ledger as it stood before `day`'s first command (the last active
// day's closing when `day` had none), and after `day`'s last.
settlement::Ledger ledger_before(const History& history, std::int64_t day);
settlement::Ledger ledger_after(const History& history, std::int64_t day);

// `part` of `whole` as a percentage with one decimal, rounded down ("97.5");
// "n/a" when `whole` is 0.
std::string percent(std::uint64_t part, std::uint64_t whole);

// Participants with any trade, challenge, settlement or posting that day.
std::set<ParticipantId> active_participants(const History& history, const Day& day);

struct Table {
  std::string name;  // the CSV file's stem
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

struct Figure {
  std::string key;  // also the CSV's metric name and the page's data-metric
  std::string label;
  std::string value;
};

// Chart series, in the units of the tables they come from.
struct ProductHours {
  std::string product;
  std::array<matching::Quantity, 24> volume{};
  std::array<matching::Price, 24> vwap{};  // 0 for hours without trades
};
struct PassRate {
  std::string label;
  std::uint64_t recorded = 0;
  std::uint64_t passed = 0;
};
struct CashFlow {
  std::string reason;
  Money in = 0;
  Money out = 0;
};

struct Report {
  std::string day;         // YYYY-MM-DD
  std::string scope;       // "exchange" or "participant-N": the folder name
  std::string scope_name;  // for people: "participant 3 (PROVIDER-A)"
  matching::SequenceNumber through_sequence = 0;
  std::vector<Figure> summary;
  std::vector<Table> tables;
  std::vector<ProductHours> hourly;
  std::vector<PassRate> pass_rates;
  std::vector<CashFlow> cash_flow;
  bool cash_flow_has_out = false;  // participant scope: in and out of their cash
  bool reconciled = false;         // every balance: opening + in - out = closing
};

// `participant` empty: the whole exchange. `names` labels participants (e.g.
// by their FIX SenderCompIDs); a participant without one is shown by number.
Report build_report(const History& history, std::int64_t day,
                    std::optional<ParticipantId> participant,
                    const std::map<ParticipantId, std::string>& names);

// Writes DIR/summary.csv, one CSV per table and DIR/report.html; returns the
// files written.
std::vector<std::filesystem::path> write_report(const Report& report,
                                                const std::filesystem::path& directory);

std::string render_html(const Report& report);

}  // namespace gpux::report
