// The journal replayed into days. The report reads the replay, not the stores:
// only the journal holds every command's time, and `gpux audit` is what proves
// that the stores agree with it.
#include <cstdio>
#include <iterator>
#include <stdexcept>

#include "gpux/storage/recovery.h"
#include "report/journal_replay.h"
#include "report/report.h"

namespace gpux::report {

namespace {

struct Collector : matching::EventListener {
  History& history;
  settlement::Ledger ledger;
  Day* today = nullptr;
  explicit Collector(History& h) : history(h) {}

  // Called before each command: a new day opens with the balances so far.
  void begin(const matching::Command& command) {
    const std::int64_t day = day_of(command.stamp.time);
    if (today == nullptr || history.days.rbegin()->first != day) {
      if (today != nullptr) today->closing = ledger;
      today = &history.days[day];
      today->opening = ledger;
    }
    if (const auto* listing = std::get_if<matching::ListInstrument>(&command.body))
      history.instruments.emplace(listing->spec->id, *listing->spec);
    history.last_sequence = command.stamp.sequence;
  }
  void end() {
    if (today != nullptr) today->closing = ledger;
  }

  void on_event(const matching::Event& event) override {
    if (const auto* t = std::get_if<matching::Trade>(&event)) {
      today->trades.push_back(*t);
      history.traded_at.emplace(t->trade, t->stamp.time);
    } else if (const auto* b = std::get_if<matching::BlockOrderFilled>(&event)) {
      today->blocks.push_back(*b);
    } else if (const auto* c = std::get_if<matching::ChallengeRecorded>(&event)) {
      today->challenges.push_back(*c);
    } else if (const auto* s = std::get_if<matching::ObligationSettled>(&event)) {
      today->settlements.push_back(*s);
    } else if (const auto* p = std::get_if<matching::LedgerPosting>(&event)) {
      ledger.apply(p->posting);
      today->postings.push_back(*p);
    } else if (const auto* o = std::get_if<matching::ObligationCreated>(&event)) {
      history.obligations.emplace(o->trade, *o);
    }
  }
};

// Howard Hinnant's days_from_civil and civil_from_days: exact for every
// proleptic Gregorian date, no time zone or locale involved.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

History read_history(const storage::Journal& journal, const matching::EngineConfig& config) {
  History history;
  Collector collector(history);
  auto engine = matching::make_engine(config, collector);
  const auto problems = storage::replay_from_start(
      journal, *engine, [&](const matching::Command& c) { collector.begin(c); });
  if (!problems.empty()) throw std::runtime_error(problems.front());
  collector.end();
  return history;
}

std::int64_t day_of(matching::Nanoseconds time) {
  constexpr std::int64_t kNanosecondsPerDay = 86'400'000'000'000;
  return time >= 0 ? time / kNanosecondsPerDay : -((-time - 1) / kNanosecondsPerDay) - 1;
}

settlement::Ledger ledger_before(const History& history, std::int64_t day) {
  const auto at = history.days.lower_bound(day);
  if (at != history.days.end() && at->first == day) return at->second.opening;
  return at == history.days.begin() ? settlement::Ledger{} : std::prev(at)->second.closing;
}

settlement::Ledger ledger_after(const History& history, std::int64_t day) {
  const auto after = history.days.upper_bound(day);
  return after == history.days.begin() ? settlement::Ledger{} : std::prev(after)->second.closing;
}

std::string format_day(std::int64_t day) {
  const std::int64_t z = day + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  char text[32];
  std::snprintf(text, sizeof text, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return text;
}

std::optional<std::int64_t> parse_day(const std::string& text) {
  unsigned y = 0, m = 0, d = 0;
  char tail = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
    return std::nullopt;
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const std::int64_t day = days_from_civil(y, m, d);
  if (format_day(day) != text) return std::nullopt;  // 2026-02-30 and the like
  return day;
}

std::set<ParticipantId> active_participants(const History& history, const Day& day) {
  std::set<ParticipantId> active;
  for (const auto& c : day.challenges)
    if (const auto it = history.obligations.find(c.trade); it != history.obligations.end())
      active.insert({it->second.buyer, it->second.provider});
  for (const auto& t : day.trades)
    active.insert({t.maker, t.taker});
  for (const auto& b : day.blocks)
    active.insert(b.participant);
  for (const auto& s : day.settlements)
    active.insert({s.buyer, s.provider});
  for (const auto& p : day.postings)
    for (const auto& side : {p.posting.from, p.posting.to})
      if (side.owner != settlement::kExchange) active.insert(side.owner);
  return active;
}

}  // namespace gpux::report
