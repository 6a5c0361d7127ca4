// A participant's statement of account for a period of trading days: what
// the exchange held for it at the start and the end, and every line between
// with a running balance, labelled from its side.
//
// The balance is the participant's money at the exchange: available,
// reserved for open orders, in escrow for hours bought and pledged as
// collateral. A receivable (hours sold, paid when proven) is a claim, not
// money held, so it is shown beside the balance, not in it. Lines change the
// balance: deposits and withdrawals; per settled trade what was bought or
// sold (quantity x price), the hours not proven (not charged to the buyer,
// not paid to the provider), fees and penalties. Collateral pledged or
// returned moves money within the balance; its lines say so and change only
// the collateral column.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "report/report.h"

namespace gpux::report {

struct StatementLine {
  matching::Nanoseconds time = 0;
  std::string trade;  // the trade the line is about, if any
  std::string kind;   // for machines: deposit, bought, buyer_fee, penalty, ...
  std::string description;
  matching::Quantity quantity = 0;  // with price: lines that are quantity x price
  matching::Price price = 0;
  Money amount = 0;      // signed: + credit, - debit
  Money balance = 0;     // after the line
  Money collateral = 0;  // the change of collateral pledged, signed
};

struct Statement {
  std::string number;  // GPUX-S-<participant>-<from>-<to>, the same on every run
  ParticipantId participant = 0;
  std::string participant_name;
  std::string from, to;  // YYYY-MM-DD, both included
  matching::SequenceNumber through_sequence = 0;
  Money opening = 0;
  Money credits = 0, debits = 0;  // debits as a positive sum
  Money closing = 0;
  // The closing balance's parts, and the claims beside it.
  Money available = 0, reserved = 0, escrow = 0, collateral = 0, receivable = 0;
  std::vector<StatementLine> lines;
  // opening + the lines = closing, and that closing is the ledger's.
  bool reconciled = false;
};

// Participants to state for [from_day, to_day]: any with activity in it or
// money at the exchange at its end.
std::set<ParticipantId> statement_participants(const History& history, std::int64_t from_day,
                                               std::int64_t to_day);

Statement build_statement(const History& history, std::int64_t from_day, std::int64_t to_day,
                          ParticipantId participant,
                          const std::map<ParticipantId, std::string>& names);

// Writes DIR/statement.csv (the lines, exact micro-USD), DIR/statement_summary.csv
// (metric,value) and DIR/statement.html (to the cent, print-ready); returns
// the files written.
std::vector<std::filesystem::path> write_statement(const Statement& statement,
                                                   const std::filesystem::path& directory);

// Prints `html` to `pdf` with headless Chromium ($GPUX_CHROMIUM, else
// `chromium` on PATH). Returns an empty string when the PDF was written,
// otherwise why not.
std::string print_to_pdf(const std::filesystem::path& html, const std::filesystem::path& pdf);

}  // namespace gpux::report
