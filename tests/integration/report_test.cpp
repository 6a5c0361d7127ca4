// gpux report against a real journal of a seeded two-day market: trading on
// day one, gate closure, delivery with honest and dishonest providers and
// settlement on day two. The reports' totals must equal figures the test
// derives from the engine's own events; two runs must give byte-identical
// files; and headless Chromium must render the page to a screenshot with
// charts on it and show exactly the totals the CSV holds.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "gpux/storage/journal.h"
#include "market.h"
#include "png_image.h"
#include "run_command.h"
#include "temp_dir.h"

using namespace gpux::test;
namespace fs = std::filesystem;
namespace settlement = gpux::settlement;

namespace {

constexpr std::int64_t kDayOne = 20'422;  // 2025-11-30, days since 1970-01-01
constexpr Nanoseconds kSecond = 1'000'000'000;
constexpr Nanoseconds kDayOneStart = kDayOne * 86'400 * kSecond;
constexpr Nanoseconds kDayTwoStart = kDayOneStart + 86'400 * kSecond;

const char* const kConfig =
    "buyer_fee_ppm = 4000\n"
    "challenges_per_obligation = 4\n"
    "penalty_ppm = 250000\n"
    "challenge_seed = 99\n"
    "fix_client = PROVIDER-A participant=5 password=none\n";

EngineConfig engine_config() {
  EngineConfig c;
  c.buyer_fee_ppm = 4000;
  c.delivery.challenges_per_obligation = 4;
  c.delivery.penalty_ppm = 250'000;
  c.delivery.challenge_seed = 99;
  return c;
}

// What the test expects of a day's exchange report, from the events.
struct Expected {
  std::uint64_t trades = 0;
  std::uint64_t blocks = 0, block_legs = 0;
  Quantity volume = 0;
  Money notional = 0;
  std::uint64_t recorded = 0, passed = 0;
  std::uint64_t settled = 0;
  Money paid = 0, fees = 0, refunds = 0, fee_holds = 0, penalties = 0, deposits = 0,
        withdrawals = 0;
};

// Commands applied to an engine at sequencer times the test controls, and
// written with their events to a real journal, which is closed at the end
// as after gpuxd stops: the report opens it alone. `observe` sees each event
// at the time of its command.
class JournalWriter : public EventListener {
 public:
  using Observer = std::function<void(const Event&, Nanoseconds)>;
  JournalWriter(const fs::path& data, Observer observe)
      : journal_(gpux::storage::Journal::open(data)),
        engine_(make_engine(engine_config(), *this)),
        observe_(std::move(observe)) {}

  Nanoseconds time = 0;  // of the next command; each moves it a second on

  void apply(CommandBody body) {
    commands_.push_back(Command{{commands_.size() + 1, time}, std::move(body)});
    engine_->apply(commands_.back());
    time += kSecond;
  }

  void close() {
    journal_->append(commands_, events_);
    journal_.reset();
  }

  Money balance(settlement::AccountRef account) const { return engine_->balance(account); }

 private:
  void on_event(const Event& event) override {
    events_.push_back(event);
    observe_(event, time);
  }

  std::unique_ptr<gpux::storage::Journal> journal_;
  std::unique_ptr<Engine> engine_;
  Observer observe_;
  std::vector<Command> commands_;
  std::vector<Event> events_;
};

// A seeded market written to a real journal: buyers 1..4 and providers 5..7
// trade two consecutive delivery hours on day one, now and then as a block
// over both; day two delivers and settles them.
class JournaledMarket {
 public:
  explicit JournaledMarket(const fs::path& data)
      : writer_(data, [this](const Event& e, Nanoseconds time) { observe(e, time); }),
        random_(2026) {}

  std::map<std::int64_t, Expected> expected;
  std::map<ParticipantId, Quantity> volume_of;  // day one, bought or sold
  Money fees_paid_by_3 = 0;

  void run() {
    time_ = kDayOneStart + 3600 * kSecond;
    for (ParticipantId p = 1; p <= 7; ++p) {
      apply(AddParticipant{p});
      apply(AdjustCash{p, 500'000'000 + 1'000'000 * pick(0, 300)});
    }
    for (InstrumentId i = 1; i <= 2; ++i) {
      InstrumentSpec s = hours_later(standard_spec(i), i - 1);
      s.symbol = "H100-SXM.us-east.20251201T1" + std::to_string(i);
      s.tick_size = 10'000;
      s.band_width = 200'000;
      s.max_quantity = 40;
      s.maker_fee_ppm = 1'000;
      s.taker_fee_ppm = 3'000;
      apply(ListInstrument{s});
      apply(ChangeInstrumentState{i, InstrumentState::open});
      for (ParticipantId p = 5; p <= 7; ++p) {
        apply(SetSellCapacity{p, i, 400});
        apply(PostCollateral{p, 20'000'000});
      }
    }
    // Day one, 01:00 to 21:00: orders, now and then a withdrawal.
    for (int step = 0; step < 1'200; ++step) {
      time_ = kDayOneStart + 3600 * kSecond + step * 60 * kSecond;
      const auto instrument = static_cast<InstrumentId>(pick(1, 2));
      if (pick(0, 99) < 3) {
        apply(AdjustCash{static_cast<ParticipantId>(pick(1, 7)), -1'000'000 * pick(1, 20)});
        continue;
      }
      const bool buy = pick(0, 1) == 0;
      if (pick(0, 99) < 4) {  // a block over both hours, within the price band's middle
        apply(
            NewBlockOrder{.participant = static_cast<ParticipantId>(buy ? pick(1, 4) : pick(5, 7)),
                          .first_instrument = 1,
                          .hours = 2,
                          .side = buy ? Side::buy : Side::sell,
                          .one_provider = pick(0, 1) == 0,
                          .units = pick(1, 3),
                          .limit = buy ? 2'040'000 : 1'960'000});
        continue;
      }
      apply(NewOrder{0, static_cast<ParticipantId>(buy ? pick(1, 4) : pick(5, 7)), instrument,
                     buy ? Side::buy : Side::sell, OrderType::limit,
                     SelfTradePrevention::cancel_incoming, 2'000'000 + 10'000 * pick(-6, 6),
                     pick(1, 8)});
    }
    // Day two: gate closure, delivery, outcomes, settlement.
    time_ = kDayTwoStart + 9 * 3600 * kSecond;
    for (InstrumentId i = 1; i <= 2; ++i)
      apply(ChangeInstrumentState{i, InstrumentState::gate_closed});
    for (InstrumentId i = 1; i <= 2; ++i)
      apply(ChangeInstrumentState{i, InstrumentState::delivering});
    const int honesty[] = {100, 90, 40};  // providers 5, 6, 7: percent of challenges passed
    for (const ChallengeScheduled& c : scheduled_) {
      time_ += kSecond;
      if (pick(0, 99) >= 97) continue;  // no answer: times out at settlement
      const bool pass = pick(0, 99) < honesty[c.provider - 5];
      apply(RecordChallengeOutcome{c.trade, c.index,
                                   pass ? ChallengeOutcome::passed : ChallengeOutcome::failed,
                                   pass ? 0u : 5u});
    }
    time_ = kDayTwoStart + 12 * 3600 * kSecond;
    for (InstrumentId i = 1; i <= 2; ++i)
      apply(ChangeInstrumentState{i, InstrumentState::settled});
    apply(AdjustCash{3, -1'000'000});
    writer_.close();
  }

  Money balance(settlement::AccountRef account) const { return writer_.balance(account); }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }

  void apply(CommandBody body) { writer_.apply(std::move(body)); }

  void observe(const Event& event, Nanoseconds time) {
    Expected& day = expected[time / (86'400 * kSecond)];
    if (const auto* b = std::get_if<BlockOrderFilled>(&event)) {
      ++day.blocks;
      day.block_legs += b->legs;
    } else if (const auto* t = std::get_if<Trade>(&event)) {
      ++day.trades;
      day.volume += t->quantity;
      day.notional += t->price * t->quantity;
      volume_of[t->maker] += t->quantity;
      volume_of[t->taker] += t->quantity;
    } else if (const auto* c = std::get_if<ChallengeScheduled>(&event)) {
      scheduled_.push_back(*c);
    } else if (const auto* r = std::get_if<ChallengeRecorded>(&event)) {
      ++day.recorded;
      day.passed += r->outcome == ChallengeOutcome::passed;
    } else if (const auto* s = std::get_if<ObligationSettled>(&event)) {
      ++day.settled;
      day.paid += s->figures.paid_to_provider;
      day.fees += s->figures.buyer_fee + s->figures.provider_fee;
      // The refund for unverified hours apart from the unused fee hold.
      const Money unverified = std::min(s->figures.refund, s->price * s->figures.unverified);
      day.refunds += unverified;
      day.fee_holds += s->figures.refund - unverified;
      day.penalties += s->figures.penalty;
      if (s->buyer == 3) fees_paid_by_3 += s->figures.buyer_fee;
      if (s->provider == 3) fees_paid_by_3 += s->figures.provider_fee;
    } else if (const auto* p = std::get_if<LedgerPosting>(&event)) {
      if (p->posting.reason == settlement::PostingReason::deposit)
        day.deposits += p->posting.amount;
      if (p->posting.reason == settlement::PostingReason::withdrawal)
        day.withdrawals += p->posting.amount;
    }
  }

  JournalWriter writer_;
  std::mt19937_64 random_;
  Nanoseconds& time_ = writer_.time;
  std::vector<ChallengeScheduled> scheduled_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::string> read_summary(const fs::path& csv) {
  std::map<std::string, std::string> metrics;
  std::istringstream lines(read_file(csv));
  std::string line;
  std::getline(lines, line);
  REQUIRE(line == "metric,value");
  while (std::getline(lines, line)) {
    const auto comma = line.find(',');
    REQUIRE(comma != std::string::npos);
    metrics[line.substr(0, comma)] = line.substr(comma + 1);
  }
  return metrics;
}

std::string usd(Money m) {
  char text[48];
  std::snprintf(text, sizeof text, "%s%lld.%06lld", m < 0 ? "-" : "",
                static_cast<long long>((m < 0 ? -m : m) / 1'000'000),
                static_cast<long long>((m < 0 ? -m : m) % 1'000'000));
  return text;
}

Money micro_usd(const std::string& text) {
  const auto point = text.find('.');
  REQUIRE(point != std::string::npos);
  return std::stoll(text.substr(0, point) + text.substr(point + 1));
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields(1);
  for (char c : line) {
    if (c == ',')
      fields.emplace_back();
    else
      fields.back().push_back(c);
  }
  return fields;
}

// Every element carrying data-metric="KEY" in Chromium's DOM: its exact
// value (data-value) and the text it shows.
struct Shown {
  std::string value, text;
  bool operator==(const Shown&) const = default;
};
std::map<std::string, Shown> page_metrics(const std::string& dom) {
  std::map<std::string, Shown> metrics;
  const std::string marker = "data-metric=\"", value = "data-value=\"";
  for (std::size_t at = dom.find(marker); at != std::string::npos; at = dom.find(marker, at)) {
    at += marker.size();
    const std::size_t key_end = dom.find('"', at);
    const std::size_t tag_end = dom.find('>', key_end);
    const std::size_t value_at = dom.find(value, key_end) + value.size();
    REQUIRE(value_at < tag_end);
    const std::size_t text = tag_end + 1;
    metrics[dom.substr(at, key_end - at)] = {
        dom.substr(value_at, dom.find('"', value_at) - value_at),
        dom.substr(text, dom.find('<', text) - text)};
  }
  return metrics;
}

// Micro-USD as the pages show money: to the cent, half away from zero, with
// thousands separators.
std::string cents(Money m) {
  const Money rounded = ((m < 0 ? -m : m) + 5'000) / 10'000;
  // Groups of three from the right, written backwards.
  std::string reversed;
  Money dollars = rounded / 100;
  for (int digit = 0; digit == 0 || dollars > 0; ++digit, dollars /= 10) {
    if (digit > 0 && digit % 3 == 0) reversed.push_back(',');
    reversed.push_back(static_cast<char>('0' + dollars % 10));
  }
  if (m < 0 && rounded != 0) reversed.push_back('-');
  char cent[4];
  std::snprintf(cent, sizeof cent, "%02lld", static_cast<long long>(rounded % 100));
  std::string text(reversed.rbegin(), reversed.rend());
  text.push_back('.');
  return text.append(cent);
}

// What a page must show for a CSV's metric,value rows.
std::map<std::string, Shown> as_shown(const std::map<std::string, std::string>& csv) {
  std::map<std::string, Shown> shown;
  for (const auto& [key, value] : csv) {
    const bool money = key.size() > 4 && key.compare(key.size() - 4, 4, "_usd") == 0;
    shown[key] = {value, money ? cents(micro_usd(value)) : value};
  }
  return shown;
}

// Headless Chromium with its own profile under `profile`; options follow.
std::string chromium_command(const fs::path& profile) {
  return "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
         "--user-data-dir=" +
         profile.string() + " ";
}

std::string report_command(const fs::path& data, const fs::path& config, const fs::path& out) {
  return std::string(GPUX_PATH) + " report --data-dir " + data.string() + " --config " +
         config.string() + " --out " + out.string();
}

// Rows of a CSV file, its header first.
std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    // Descriptions may hold a quoted comma: "Sold X (trade 4, 2025-...)".
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (char c : line) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted)
        fields.emplace_back();
      else
        fields.back().push_back(c);
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

}  // namespace

TEST_CASE("gpux report: totals equal the market's events, reruns are byte-identical") {
  TempDir dir;
  const fs::path data = dir.path() / "data", config = dir.path() / "gpux.conf";
  std::ofstream(config) << kConfig;
  JournaledMarket market(data);
  market.run();
  const Expected day_one = market.expected[kDayOne], day_two = market.expected[kDayOne + 1];
  REQUIRE(day_one.trades > 50);
  REQUIRE(day_one.blocks > 3);
  REQUIRE(day_two.settled > 20);
  REQUIRE(day_two.penalties > 0);
  REQUIRE(day_two.recorded > day_two.passed);

  const auto first = gpux::test::run_command(report_command(data, config, dir.path() / "first"));
  REQUIRE_MESSAGE(first.status == 0, first.output);
  const fs::path one = dir.path() / "first" / "2025-11-30",
                 two = dir.path() / "first" / "2025-12-01";

  SUBCASE("exchange totals") {
    for (const auto& [folder, e] : {std::pair{one, day_one}, std::pair{two, day_two}}) {
      CAPTURE(folder);
      const auto m = read_summary(folder / "exchange" / "summary.csv");
      CHECK(m.at("trades") == std::to_string(e.trades));
      CHECK(m.at("blocks_filled") == std::to_string(e.blocks));
      CHECK(m.at("volume_units") == std::to_string(e.volume));
      CHECK(m.at("notional_usd") == usd(e.notional));
      CHECK(m.at("challenges_recorded") == std::to_string(e.recorded));
      CHECK(m.at("challenges_passed") == std::to_string(e.passed));
      CHECK(m.at("obligations_settled") == std::to_string(e.settled));
      CHECK(m.at("paid_to_providers_usd") == usd(e.paid));
      CHECK(m.at("refunds_usd") == usd(e.refunds));
      CHECK(m.at("fee_holds_released_usd") == usd(e.fee_holds));
      CHECK(m.at("penalties_usd") == usd(e.penalties));
      CHECK(m.at("deposits_usd") == usd(e.deposits));
      CHECK(m.at("withdrawals_usd") == usd(e.withdrawals));
      CHECK(m.at("balances_reconcile") == "yes");
      CHECK(m.at("opening_balance_usd") == "0.000000");  // the whole ledger sums to zero
      CHECK(m.at("closing_balance_usd") == "0.000000");
    }
    const auto m = read_summary(two / "exchange" / "summary.csv");
    CHECK(micro_usd(m.at("buyer_fees_usd")) + micro_usd(m.at("provider_fees_usd")) == day_two.fees);
    // Each challenge row and trade row is in its CSV.
    const std::string challenges = read_file(two / "exchange" / "challenges.csv");
    CHECK(std::count(challenges.begin(), challenges.end(), '\n') == 1 + int(day_two.recorded));
    {
      // Challenges are numbered from 1, as gpuxd's and the agent's logs say
      // them: 1 to challenges_per_obligation (4) x the trade's units.
      std::istringstream lines(challenges);
      std::string line;
      std::getline(lines, line);
      REQUIRE(line.rfind("time,trade,challenge,", 0) == 0);
      std::set<int> numbers;
      while (std::getline(lines, line)) {
        std::istringstream cells(line);
        std::string cell;
        for (int column = 0; column <= 2; ++column)
          std::getline(cells, cell, ',');
        numbers.insert(std::stoi(cell));
      }
      REQUIRE(!numbers.empty());
      CHECK(*numbers.begin() == 1);
      CHECK(numbers.size() == static_cast<std::size_t>(*numbers.rbegin()));
      CHECK(numbers.size() % 4 == 0);
    }
    const std::string trades = read_file(one / "exchange" / "trades.csv");
    CHECK(std::count(trades.begin(), trades.end(), '\n') == 1 + int(day_one.trades));
    // Each filled block is a row, and each of its legs names it in the trades.
    const std::string blocks = read_file(one / "exchange" / "blocks.csv");
    CHECK(std::count(blocks.begin(), blocks.end(), '\n') == 1 + int(day_one.blocks));
    std::uint64_t legs = 0;
    std::istringstream rows(trades);
    std::string row;
    std::getline(rows, row);
    CHECK(split(row).back() == "block");
    while (std::getline(rows, row))
      legs += !split(row).back().empty();
    CHECK(legs == day_one.block_legs);
  }

  SUBCASE("participant reports: own volume, own fees, closing balances of the journal") {
    for (ParticipantId p = 1; p <= 7; ++p) {
      CAPTURE(p);
      const auto m = read_summary(one / ("participant-" + std::to_string(p)) / "summary.csv");
      CHECK(m.at("volume_units") == std::to_string(market.volume_of[p]));
      CHECK(m.at("balances_reconcile") == "yes");
    }
    const auto m = read_summary(two / "participant-3" / "summary.csv");
    CHECK(m.at("buyer_fees_usd") == usd(market.fees_paid_by_3));
    CHECK(m.at("withdrawals_usd") == "1.000000");
    // Day two's closing balances are the engine's at the end.
    const std::string balances = read_file(two / "participant-3" / "balances.csv");
    for (const auto kind : {settlement::AccountKind::available, settlement::AccountKind::escrow}) {
      const std::string row_start = std::string("\n") + settlement::to_string(kind) + ",";
      const auto row = balances.find(row_start);
      REQUIRE(row != std::string::npos);
      const auto fields = split(balances.substr(row + 1, balances.find('\n', row + 1) - row - 1));
      REQUIRE(fields.size() == 6);  // account, opening, in, out, closing, reconciles
      CHECK(fields[4] == usd(market.balance({3, kind})));
    }
    // The total row counts money that crossed into or out of the
    // participant's accounts, not its moves between them: a buyer's money in
    // is what it deposited.
    const std::string total_start = "\ntotal,";
    const auto total_row = balances.find(total_start);
    REQUIRE(total_row != std::string::npos);
    const auto total =
        split(balances.substr(total_row + 1, balances.find('\n', total_row + 1) - total_row - 1));
    CHECK(total[2] == m.at("deposits_usd"));
    // Only the rows that concern it, from its side: a buyer's statement has
    // no penalties and no provider fees; a provider's no buyer fees.
    CHECK(m.count("penalties_usd") == 0);
    CHECK(m.count("provider_fees_usd") == 0);
    CHECK(m.count("refunds_received_usd") == 1);
    // Its cash flow's fee row is its own fees, as the summary says (the
    // provider's fee, taken from its escrow, is part of what it paid).
    const std::string flow = read_file(two / "participant-3" / "cash_flow.csv");
    const auto fee_row = flow.find("\nfee,");
    REQUIRE(fee_row != std::string::npos);
    const auto fee = split(flow.substr(fee_row + 1, flow.find('\n', fee_row + 1) - fee_row - 1));
    CHECK(fee[3] == m.at("buyer_fees_usd"));
    const auto provider = read_summary(two / "participant-5" / "summary.csv");
    CHECK(provider.count("buyer_fees_usd") == 0);
    CHECK(provider.count("penalties_usd") == 1);
    CHECK(provider.at("collateral_usd") ==
          usd(market.balance({5, settlement::AccountKind::collateral})));
    // The FIX client's CompID names its participant.
    CHECK(read_file(two / "participant-5" / "report.html").find("participant 5 (PROVIDER-A)") !=
          std::string::npos);
  }

  SUBCASE("the VWAP is drawn against a price axis from zero, above every VWAP") {
    const std::string html = read_file(one / "exchange" / "report.html");
    const auto hourly = read_csv(one / "exchange" / "hourly.csv");
    std::size_t charts = 0;
    for (auto at = html.find("\"price\":{"); at != std::string::npos;
         at = html.find("\"price\":{", at + 1), ++charts) {
      const std::string axis = html.substr(at, html.find('}', at) - at);
      CHECK(axis.find("\"min\":0,") != std::string::npos);
      const auto max_at = axis.find("\"max\":") + 6;
      const Money top = micro_usd(axis.substr(max_at, axis.find(',', max_at) - max_at));
      // The chart's product: its title, before the axis.
      const std::string heading = "\"plugins\":{\"title\":{\"display\":true,\"text\":\"";
      const auto title = html.rfind(heading, at) + heading.size();
      const std::string product = html.substr(title, html.find(':', title) - title);
      std::size_t rows = 0;
      for (const auto& row : hourly)
        if (row[0] == product) {
          ++rows;
          CHECK(micro_usd(row[4]) <= top);
          // Drawn at its price: the dataset holds the CSV's VWAP.
          CHECK(html.find(row[4], html.rfind("\"data\":{", at)) < at);
        }
      CHECK(rows > 0);
    }
    CHECK(charts == 2);
  }

  SUBCASE("pages need nothing from outside: the charting library is inlined, nothing linked") {
    const std::string library = read_file("/usr/share/javascript/chart.js/chart.min.js");
    REQUIRE(library.size() > 100'000);
    for (const fs::path& page : {one / "exchange" / "report.html", two / "exchange" / "report.html",
                                 two / "participant-7" / "report.html"}) {
      CAPTURE(page);
      std::string html = read_file(page);
      const auto inlined = html.find("<script>" + library + "</script>");
      REQUIRE(inlined != std::string::npos);
      html.erase(inlined, library.size() + 17);
      for (const char* outside : {"http:", "https:", "//", "src=", "href=", "@import", "url(",
                                  "fetch(", "XMLHttpRequest", "import("})
        CHECK_MESSAGE(html.find(outside) == std::string::npos, outside);
    }
  }

  SUBCASE("byte-identical on a second run") {
    REQUIRE(gpux::test::run_command(report_command(data, config, dir.path() / "second")).status ==
            0);
    const auto count_files = [](const fs::path& root) {
      return std::count_if(fs::recursive_directory_iterator(root), {},
                           [](const fs::directory_entry& e) { return e.is_regular_file(); });
    };
    CHECK(count_files(dir.path() / "first") == count_files(dir.path() / "second"));
    CHECK(count_files(dir.path() / "first") >= 2 * 2 * 9);  // two days, at least two scopes
    for (const auto& entry : fs::recursive_directory_iterator(dir.path() / "first")) {
      if (!entry.is_regular_file()) continue;
      const fs::path twin =
          dir.path() / "second" / fs::relative(entry.path(), dir.path() / "first");
      CAPTURE(twin);
      REQUIRE(fs::exists(twin));
      CHECK(read_file(entry.path()) == read_file(twin));
    }
  }

  SUBCASE("headless Chromium renders charts and the CSV's totals") {
    const std::string chromium = chromium_command(dir.path() / "chromium");
    // Pixels near a chart colour of the page's style.
    const auto count_colour = [](const Image& image, int r, int g, int b) {
      std::size_t count = 0;
      for (std::size_t i = 0; i < image.rgb.size(); i += 3)
        count += std::abs(image.rgb[i] - r) < 16 && std::abs(image.rgb[i + 1] - g) < 16 &&
                 std::abs(image.rgb[i + 2] - b) < 16;
      return count;
    };
    const auto render = [&](const fs::path& folder) {
      CAPTURE(folder);
      const fs::path png = dir.path() / "page.png";
      const auto shot = gpux::test::run_command(chromium + "--screenshot=" + png.string() +
                                                " --window-size=1280,1600 file://" +
                                                (folder / "report.html").string());
      REQUIRE_MESSAGE(shot.status == 0, shot.output);
      Image image = decode_png(read_file(png));
      REQUIRE(image.width == 1280);
      REQUIRE(image.height == 1600);
      std::size_t inked = 0;
      for (std::size_t i = 0; i < image.rgb.size(); i += 3)
        inked += image.rgb[i] < 240 || image.rgb[i + 1] < 240 || image.rgb[i + 2] < 240;
      CHECK(inked > 50'000);  // text, tables and charts: not a blank page

      // --dump-dom prints the DOM as rendered; Chromium logs to stderr.
      const auto dumped =
          gpux::test::run_command("(" + chromium + "--dump-dom file://" +
                                  (folder / "report.html").string() + " 2>/dev/null)");
      REQUIRE(dumped.status == 0);
      const std::string& dom = dumped.output;
      REQUIRE(dom.find("<html") != std::string::npos);
      const auto shown = page_metrics(dom);
      const auto csv = read_summary(folder / "summary.csv");
      // A participant's page shows its collateral, and the settlement rows
      // of its own side only (participant 7 settles as a provider only).
      CHECK(csv.size() == (folder.filename() == "exchange" ? 22u : 21u));
      CHECK(shown == as_shown(csv));
      // Tables as people read them: headings in words with the unit, money
      // to the cent with separators (the CSV keeps micro-USD).
      CHECK(dom.find("<th>Closing (USD)</th>") != std::string::npos);
      CHECK(dom.find("closing_usd") == std::string::npos);
      const auto balances_at = dom.find("data-table=\"balances\"");
      REQUIRE(balances_at != std::string::npos);
      const std::string balances =
          dom.substr(balances_at, dom.find("</table>", balances_at) - balances_at);
      // "-1,234.56": an optional sign, groups of three after the first, cents.
      const auto in_cents = [](std::string text) {
        if (!text.empty() && text[0] == '-') text.erase(0, 1);
        const auto point = text.find('.');
        if (point == std::string::npos || text.size() - point != 3) return false;
        for (std::size_t i = 0; i < text.size(); ++i) {
          const std::size_t from_point = point > i ? point - i : 0;
          const bool comma = from_point > 0 && from_point % 4 == 0;
          if (i == point) continue;
          if (comma ? text[i] != ',' : (text[i] < '0' || text[i] > '9')) return false;
        }
        return point > 0 && text[0] != ',';
      };
      std::size_t cells = 0;
      for (auto at = balances.find("<td>"); at != std::string::npos;
           at = balances.find("<td>", at + 1), ++cells) {
        const std::string cell = balances.substr(at + 4, balances.find('<', at + 4) - at - 4);
        CHECK_MESSAGE(in_cents(cell), cell);
      }
      CHECK(cells >= 4);
      return image;
    };
    // Wide tables come in parts: nothing is wider than a 1024-pixel window
    // (the settlements' 18 columns overflowed 1400). Measured by a script
    // added to a copy of the page.
    for (const fs::path& folder : {two / "exchange", two / "participant-7"}) {
      CAPTURE(folder);
      std::string html = read_file(folder / "report.html");
      html.insert(html.rfind("</body>"),
                  "<script>document.body.dataset.width="
                  "document.documentElement.scrollWidth</script>");
      const fs::path probe = dir.path() / "probe.html";
      std::ofstream(probe) << html;
      const auto dumped =
          gpux::test::run_command("(" + chromium + "--window-size=1024,800 --dump-dom file://" +
                                  probe.string() + " 2>/dev/null)");
      REQUIRE(dumped.status == 0);
      const auto at = dumped.output.find("data-width=\"");
      REQUIRE(at != std::string::npos);
      CHECK(std::stoi(dumped.output.substr(at + 12)) <= 1024);
    }
    const Image trading = render(one / "exchange");
    CHECK(count_colour(trading, 0x3b, 0x82, 0xc4) > 2'000);  // volume bars
    CHECK(count_colour(trading, 0xe0, 0x7b, 0x00) > 200);    // the VWAP line
    const Image delivery = render(two / "participant-7");
    CHECK(count_colour(delivery, 0x2e, 0x9e, 0x5b) > 2'000);  // pass rate and inflow bars
    CHECK(count_colour(delivery, 0xc9, 0x4c, 0x4c) > 200);    // the penalty paid out
  }
}

// A market small enough to settle by hand. Day one: buyer 1 takes 4 units at
// 2.00 from provider 2 (trade A) and 2 units at 2.10 from provider 3 (trade
// B), both as the taker (3000 ppm; the makers pay 1000 ppm; the buyer's fee
// hold is 4000 ppm). Day two, 4 rounds: provider 2 proves its 4 units in
// every round (16 of 16 challenges), provider 3 one of its 2 units (4 of 8),
// so 1 of its 2 units is verified and it pays 25% of the unverified notional
// as a penalty; the buyer withdraws 10.
TEST_CASE("gpux report: statements equal hand-computed figures, on the page and in the PDF") {
  TempDir dir;
  const fs::path data = dir.path() / "data", config = dir.path() / "gpux.conf";
  std::ofstream(config) << kConfig;
  std::vector<TradeId> trades;
  JournalWriter market(data, [&](const Event& e, Nanoseconds) {
    if (const auto* t = std::get_if<Trade>(&e)) trades.push_back(t->trade);
  });
  market.time = kDayOneStart + 8 * 3600 * kSecond;
  for (ParticipantId p = 1; p <= 3; ++p)
    market.apply(AddParticipant{p});
  market.apply(AdjustCash{1, 1'000'000'000});
  InstrumentSpec spec = standard_spec(1);
  spec.symbol = "H100-SXM.us-east.20251201T10";
  spec.maker_fee_ppm = 1'000;
  spec.taker_fee_ppm = 3'000;
  market.apply(ListInstrument{spec});
  market.apply(ChangeInstrumentState{1, InstrumentState::open});
  for (ParticipantId p = 2; p <= 3; ++p) {
    market.apply(AdjustCash{p, 100'000'000});
    market.apply(PostCollateral{p, 50'000'000});
    market.apply(SetSellCapacity{p, 1, 10});
  }
  const auto order = [&](ParticipantId p, Side side, Price price, Quantity quantity) {
    market.apply(NewOrder{0, p, 1, side, OrderType::limit, SelfTradePrevention::cancel_incoming,
                          price, quantity});
  };
  order(2, Side::sell, 2'000'000, 4);
  order(1, Side::buy, 2'000'000, 4);
  order(3, Side::sell, 2'100'000, 2);
  order(1, Side::buy, 2'100'000, 2);
  REQUIRE(trades.size() == 2);
  market.time = kDayTwoStart + 9 * 3600 * kSecond;
  market.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  market.apply(ChangeInstrumentState{1, InstrumentState::delivering});
  // One challenge per unit and round (4 rounds). Provider 2 proves its 4
  // units every time; provider 3 sold 2 but runs 1 GPU: its second unit
  // fails in every round, so 1 unit is paid.
  for (std::uint32_t i = 0; i < 4 * 4; ++i)
    market.apply(RecordChallengeOutcome{trades[0], i, ChallengeOutcome::passed, 0});
  for (std::uint32_t i = 0; i < 4 * 2; ++i) {
    const bool pass = i % 2 == 0;
    market.apply(RecordChallengeOutcome{
        trades[1], i, pass ? ChallengeOutcome::passed : ChallengeOutcome::failed, pass ? 0u : 10u});
  }
  market.apply(ChangeInstrumentState{1, InstrumentState::settled});
  market.apply(AdjustCash{1, -10'000'000});
  market.close();

  const fs::path out = dir.path() / "out";
  const auto run = gpux::test::run_command(report_command(data, config, out) + " --pdf");
  REQUIRE_MESSAGE(run.status == 0, run.output);
  const fs::path period = out / "statements" / "2025-11-30_2025-12-01";
  const std::string a = std::to_string(trades[0]), b = std::to_string(trades[1]);
  // Each line: kind, trade, quantity, price, amount, balance, collateral.
  using Lines = std::vector<std::vector<std::string>>;
  const auto lines_of = [&](ParticipantId p) {
    Lines lines;
    const auto rows = read_csv(period / ("participant-" + std::to_string(p)) / "statement.csv");
    REQUIRE(rows.at(0) == std::vector<std::string>{"time", "trade", "kind", "description",
                                                   "quantity", "price_usd", "amount_usd",
                                                   "balance_usd", "collateral_usd"});
    for (std::size_t r = 1; r < rows.size(); ++r)
      lines.push_back(
          {rows[r][2], rows[r][1], rows[r][4], rows[r][5], rows[r][6], rows[r][7], rows[r][8]});
    return lines;
  };
  const auto summary_of = [&](ParticipantId p) {
    return read_summary(period / ("participant-" + std::to_string(p)) / "statement_summary.csv");
  };

  SUBCASE("the buyer pays for proven hours and its fees, not for the hour not proven") {
    // A: 4 x 2.00 = 8.00, fee 0.3% = 0.024. B: 2 x 2.10 = 4.20, one hour
    // not proven: 2.10 not charged, fee 0.3% of 2.10 = 0.0063.
    CHECK(lines_of(1) == Lines{{"deposit", "", "", "", "1000.000000", "1000.000000", ""},
                               {"bought", a, "4", "2.000000", "-8.000000", "992.000000", ""},
                               {"buyer_fee", a, "", "", "-0.024000", "991.976000", ""},
                               {"bought", b, "2", "2.100000", "-4.200000", "987.776000", ""},
                               {"not_charged", b, "1", "2.100000", "2.100000", "989.876000", ""},
                               {"buyer_fee", b, "", "", "-0.006300", "989.869700", ""},
                               {"withdrawal", "", "", "", "-10.000000", "979.869700", ""}});
    const auto m = summary_of(1);
    CHECK(m.at("statement") == "GPUX-S-1-20251130-20251201");
    CHECK(m.at("opening_balance_usd") == "0.000000");
    CHECK(m.at("credits_usd") == "1002.100000");
    CHECK(m.at("debits_usd") == "-22.230300");
    CHECK(m.at("closing_balance_usd") == "979.869700");
    CHECK(m.at("available_usd") == "979.869700");
    CHECK(m.at("net_receivable_usd") == "0.000000");
    CHECK(m.at("reconciles") == "yes");
  }

  SUBCASE("the honest provider is paid the notional less its fee") {
    // A: 8.00 sold, fee 0.1% = 0.008.
    CHECK(lines_of(2) ==
          Lines{{"deposit", "", "", "", "100.000000", "100.000000", ""},
                {"collateral_pledged", "", "", "", "0.000000", "100.000000", "50.000000"},
                {"sold", a, "4", "2.000000", "8.000000", "108.000000", ""},
                {"provider_fee", a, "", "", "-0.008000", "107.992000", ""}});
    const auto m = summary_of(2);
    CHECK(m.at("closing_balance_usd") == "107.992000");
    CHECK(m.at("collateral_usd") == "50.000000");
    CHECK(m.at("reconciles") == "yes");
  }

  SUBCASE("the penalised provider is not paid the hour it did not prove, and pays a penalty") {
    // B: 4.20 sold, 2.10 not paid, fee 0.1% of 2.10 = 0.0021, penalty 25%
    // of 2.10 = 0.525 from its collateral.
    CHECK(lines_of(3) ==
          Lines{{"deposit", "", "", "", "100.000000", "100.000000", ""},
                {"collateral_pledged", "", "", "", "0.000000", "100.000000", "50.000000"},
                {"sold", b, "2", "2.100000", "4.200000", "104.200000", ""},
                {"not_paid", b, "1", "2.100000", "-2.100000", "102.100000", ""},
                {"provider_fee", b, "", "", "-0.002100", "102.097900", ""},
                {"penalty", b, "", "", "-0.525000", "101.572900", "-0.525000"}});
    const auto m = summary_of(3);
    CHECK(m.at("closing_balance_usd") == "101.572900");
    CHECK(m.at("collateral_usd") == "49.475000");
    CHECK(m.at("reconciles") == "yes");
  }

  SUBCASE("without Chromium: every file but the PDF, the reason, and exit 3") {
    const auto run_without = gpux::test::run_command(
        "GPUX_CHROMIUM=/nonexistent/chromium " +
        report_command(data, config, dir.path() / "no-chromium") + " --pdf");
    CHECK(run_without.status == 3);
    CHECK(run_without.output.find("cannot run /nonexistent/chromium (No such file or "
                                  "directory); install chromium or set GPUX_CHROMIUM") !=
          std::string::npos);
    const fs::path folder =
        dir.path() / "no-chromium" / "statements" / "2025-11-30_2025-12-01" / "participant-1";
    CHECK(fs::exists(folder / "statement.html"));
    CHECK_FALSE(fs::exists(folder / "statement.pdf"));
  }

  SUBCASE("the day's chart spans the hour traded and one each side, not 24 hours") {
    const std::string html = read_file(out / "2025-11-30" / "exchange" / "report.html");
    CHECK(html.find("\"labels\":[\"07:00\",\"08:00\",\"09:00\"]") != std::string::npos);
  }

  SUBCASE("a period that ends before delivery: escrow and receivable to come") {
    const auto day_one =
        gpux::test::run_command(report_command(data, config, dir.path() / "day-one") +
                                " --from 2025-11-30 --to 2025-11-30");
    REQUIRE_MESSAGE(day_one.status == 0, day_one.output);
    const fs::path folder = dir.path() / "day-one" / "statements" / "2025-11-30_2025-11-30";
    const auto buyer = read_summary(folder / "participant-1" / "statement_summary.csv");
    // The buyer's 1000 are all still its own; 12.2488 of them (8.00 + 4.20
    // and the 0.4% fee hold on each) wait in escrow.
    CHECK(buyer.at("statement") == "GPUX-S-1-20251130-20251130");
    CHECK(buyer.at("closing_balance_usd") == "1000.000000");
    CHECK(buyer.at("escrow_usd") == "12.248800");
    CHECK(buyer.at("net_receivable_usd") == "-12.248800");
    const auto provider = read_summary(folder / "participant-2" / "statement_summary.csv");
    CHECK(provider.at("receivable_usd") == "8.000000");
    CHECK(provider.at("net_receivable_usd") == "8.000000");
  }

  SUBCASE("Chromium renders the page with the CSV's figures, and printed it to PDF") {
    const std::string chromium = chromium_command(dir.path() / "chromium");
    for (ParticipantId p = 1; p <= 3; ++p) {
      const fs::path folder = period / ("participant-" + std::to_string(p));
      CAPTURE(folder);
      const std::string pdf = read_file(folder / "statement.pdf");
      CHECK(pdf.rfind("%PDF-", 0) == 0);
      CHECK(pdf.find("/Type /Page") != std::string::npos);
      const auto dumped =
          gpux::test::run_command("(" + chromium + "--dump-dom file://" +
                                  (folder / "statement.html").string() + " 2>/dev/null)");
      REQUIRE(dumped.status == 0);
      CHECK(page_metrics(dumped.output) == as_shown(summary_of(p)));
      // Every line is on the page, to the cent.
      const auto rows = read_csv(folder / "statement.csv");
      std::size_t lines = 0;
      for (auto at = dumped.output.find("<tr>"); at != std::string::npos;
           at = dumped.output.find("<tr>", at + 1))
        ++lines;
      CHECK(lines == rows.size() + summary_of(p).size());  // with the header row
      CHECK(dumped.output.find("<td>" + cents(micro_usd(rows.back()[7])) + "</td>") !=
            std::string::npos);
      const fs::path png = dir.path() / "statement.png";
      const auto shot = gpux::test::run_command(chromium + "--screenshot=" + png.string() +
                                                " --window-size=1280,900 file://" +
                                                (folder / "statement.html").string());
      REQUIRE_MESSAGE(shot.status == 0, shot.output);
      const Image image = decode_png(read_file(png));
      std::size_t inked = 0;
      for (std::size_t i = 0; i < image.rgb.size(); i += 3)
        inked += image.rgb[i] < 240 || image.rgb[i + 1] < 240 || image.rgb[i + 2] < 240;
      CHECK(inked > 20'000);
    }
  }
}

TEST_CASE("gpux report: clear errors for bad arguments and unreadable data") {
  TempDir dir;
  const std::string gpux = GPUX_PATH;
  auto r = gpux::test::run_command(gpux + " report --data-dir " + dir.path().string() +
                                   " --out x --day 2026-02-30");
  CHECK(r.status == 2);
  CHECK(r.output.find("--day takes a date as YYYY-MM-DD, not '2026-02-30'") != std::string::npos);
  r = gpux::test::run_command(gpux + " report --out x");
  CHECK(r.status == 2);
  CHECK(r.output.find("--data-dir is required") != std::string::npos);
  std::ofstream(dir.path() / "not-a-database") << "x";
  r = gpux::test::run_command(gpux + " report --data-dir " +
                              (dir.path() / "not-a-database").string() + " --out " +
                              (dir.path() / "out").string());
  CHECK(r.status == 3);
  CHECK(r.output.find("cannot open") != std::string::npos);
  CHECK(!fs::exists(dir.path() / "out"));
  // A mistyped data directory is an error, not an empty exchange, for report
  // and audit alike, and no journal is created there.
  const std::string missing = (dir.path() / "no-such-dir").string();
  for (const std::string& command :
       {gpux + " report --data-dir " + missing + " --out " + (dir.path() / "out").string(),
        gpux + " audit --data-dir " + missing}) {
    INFO(command);
    r = gpux::test::run_command(command);
    CHECK(r.status == 3);
    CHECK(r.output.find("cannot open " + missing + ": no gpux journal there") != std::string::npos);
    CHECK(!fs::exists(missing));
  }
}
