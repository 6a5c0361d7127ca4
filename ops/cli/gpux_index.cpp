// gpux index: the GPU-hour index's fixings, recomputed from gpuxd's journal.
// The whole journal replays through a fresh engine into the market-data
// service's own MarketFeed, so each fixing is the one the service published
// (docs/index.md): the way to reproduce a disputed fixing. Read-only; gpuxd
// may be running (its journal is then followed as it stands).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "bench/arguments.h"
#include "gpux/daemon/config.h"
#include "gpux/market_data/api.h"
#include "gpux/market_data/feed.h"
#include "gpux/market_data/replay.h"
#include "gpux/matching/engine.h"
#include "gpux/storage/journal.h"
#include "report/journal_replay.h"

namespace {

using namespace gpux;
using market_data::Fixing;
using market_data::FixingBasis;
using market_data::Product;

constexpr const char* kTool = "gpux index";
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

void usage(const char*) {
  std::printf(
      "usage: gpux index --data DIR [--config FILE] [--product CLASS.REGION]\n"
      "                  [--from UNIX_S] [--to UNIX_S] [--interval S] [--min-volume N]\n"
      "                  [--json]\n"
      "\n"
      "Replays DIR's journal (gpuxd's data_dir; --data-dir is the same) from its\n"
      "first command through the market-data service's feed and prints every\n"
      "fixing of the GPU-hour index it publishes: its instant (UTC, and Unix\n"
      "seconds), product, basis (trades, quotes, thin_trades, none), value in USD\n"
      "per GPU-hour, the GPU-hours and trades of its interval. docs/index.md has\n"
      "the methodology.\n"
      "\n"
      "  --config FILE      gpuxd's configuration: index_interval_s and\n"
      "                     index_min_volume (default 3600 and 8)\n"
      "  --product P        only product P (CLASS.REGION, e.g. H100-SXM.us-east)\n"
      "  --from, --to T     only the fixings at instants from T to T inclusive,\n"
      "                     in Unix seconds; --from T --to T: the fixing at T\n"
      "  --interval S       fix every S seconds instead (S divides 86400)\n"
      "  --min-volume N     GPU-hours an interval must trade for basis trades\n"
      "  --json             the service's /api/v1/index body (value: USD string,\n"
      "                     null with basis none; at_ms: Unix milliseconds)\n"
      "\n"
      "A fixing is published by the first command stamped at or after its\n"
      "instant: the journal's last interval is still open. While gpuxd runs on\n"
      "DIR, the journal is read as it stands when gpux index starts (a RocksDB\n"
      "secondary; trading goes on).\n"
      "Exit status: 0 printed, 1 the journal did not replay as gpuxd ran it\n"
      "(fixings printed as far as it did), 2 usage or configuration, 3 cannot\n"
      "read DIR.\n");
}

// Prints why `flag`'s value is refused, then the usage; for exit 2.
int refuse(const std::string& flag, const std::string& why) {
  std::fprintf(stderr, "%s: %s %s\n", kTool, flag.c_str(), why.c_str());
  usage(nullptr);
  return 2;
}

// A whole number in [lo, hi], all of `text`.
std::optional<std::int64_t> whole(std::string_view text, std::int64_t lo, std::int64_t hi) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < lo ||
      value > hi)
    return std::nullopt;
  return value;
}

std::string utc(matching::Nanoseconds at) {
  const std::time_t seconds = at / kNanosPerSecond;
  std::tm parts{};
  char text[32] = "?";
  if (::gmtime_r(&seconds, &parts) != nullptr)
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace

int gpux_index(int argc, char** argv) {
  std::string data_dir;
  std::string config_file;
  std::optional<std::string> product_name;
  std::optional<std::int64_t> from_s, to_s, interval_s, min_volume;
  bool json = false;
  bench::Arguments args(argc + 1, argv - 1, usage);
  // The flag at hand, for its errors (value() moves past it).
  std::string flag;
  while (args.next()) {
    flag = args.current();
    if (args.is("--data") || args.is("--data-dir")) {
      data_dir = args.value();
      if (data_dir.empty()) return refuse(flag, "needs a directory");
    } else if (args.is("--config")) {
      config_file = args.value();
    } else if (args.is("--product")) {
      product_name = args.value();
      if (!market_data::parse_product(*product_name))
        return refuse(flag,
                      "takes CLASS.REGION (e.g. H100-SXM.us-east), not '" + *product_name + "'");
    } else if (args.is("--from") || args.is("--to")) {
      const std::string text = args.value();
      const auto seconds = whole(text, 0, INT64_MAX / kNanosPerSecond);
      if (!seconds) return refuse(flag, "takes a time in Unix seconds, not '" + text + "'");
      (flag == "--from" ? from_s : to_s) = *seconds;
    } else if (args.is("--interval")) {
      const std::string text = args.value();
      interval_s = whole(text, 1, 86'400);
      if (!interval_s || 86'400 % *interval_s != 0)
        return refuse(
            flag, "takes seconds that divide a day's 86400 (60, 300, 3600...), not '" + text + "'");
    } else if (args.is("--min-volume")) {
      const std::string text = args.value();
      min_volume = whole(text, 1, INT64_MAX);
      if (!min_volume)
        return refuse(flag, "takes a whole number of GPU-hours, at least 1, not '" + text + "'");
    } else if (args.is("--json")) {
      json = true;
    } else {
      args.unknown();
    }
  }
  if (data_dir.empty()) return refuse("--data", "is required (gpuxd's data_dir)");
  if (from_s && to_s && *from_s > *to_s)
    return refuse("--from", std::to_string(*from_s) + " is after --to " + std::to_string(*to_s));

  const auto config = ops::load_daemon_config(kTool, config_file);
  if (!config) return 2;
  market_data::FeedOptions options = config->market_data.feed;
  if (interval_s) options.index.interval_s = *interval_s;
  if (min_volume) options.index.min_volume = *min_volume;
  options.index.fixings_kept = 0;  // all of them
  const market_data::IndexRule rule = options.index;

  const auto journal = ops::open_journal(kTool, data_dir);
  if (!journal) return 3;
  market_data::MarketFeed feed(options);
  market_data::JournalReplay replay;
  try {
    replay = market_data::replay_journal(*journal, config->pipeline.engine, feed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot replay %s: %s\n", kTool, data_dir.c_str(), e.what());
    return 3;
  }
  const std::vector<std::string>& problems = replay.problems;

  std::vector<Product> products = feed.products();
  if (product_name) {
    std::vector<Product> chosen;
    for (const Product& p : products)
      if (p.name() == *product_name) chosen.push_back(p);
    if (chosen.empty()) {
      std::string known;
      for (const Product& p : products)
        known += (known.empty() ? "" : ", ") + p.name();
      std::fprintf(stderr, "%s: --product %s: not in %s's journal (%s%s)\n", kTool,
                   product_name->c_str(), data_dir.c_str(),
                   known.empty() ? "it lists no instruments" : "its products: ", known.c_str());
      return 2;
    }
    products = std::move(chosen);
  }
  const auto wanted = [&](const Fixing& f) {
    return (!from_s || f.at >= *from_s * kNanosPerSecond) &&
           (!to_s || f.at <= *to_s * kNanosPerSecond);
  };
  std::vector<market_data::ProductFixings> chosen;
  for (const Product& p : products) {
    chosen.push_back({.product = p, .fixings = {}});
    for (const Fixing& f : feed.fixings(p))
      if (wanted(f)) chosen.back().fixings.push_back(f);
  }

  if (json) {
    std::printf("%s\n", market_data::index_json(rule, chosen).c_str());
  } else {
    std::printf("gpux index: %s: %llu commands replayed%s%s\n", data_dir.c_str(),
                static_cast<unsigned long long>(replay.commands),
                replay.commands > 0 ? ", the last stamped " : "",
                replay.commands > 0 ? utc(replay.last_time).c_str() : "");
    std::printf("a fixing every %lld s of UTC; basis trades from %lld GPU-hours%s\n",
                static_cast<long long>(rule.interval_s), static_cast<long long>(rule.min_volume),
                interval_s || min_volume ? " (as given)"
                : config_file.empty()    ? " (the defaults)"
                                         : " (as configured)");
    // Time order; at one instant, products in name order (as published).
    std::vector<const Fixing*> rows;
    for (const auto& p : chosen)
      for (const Fixing& f : p.fixings)
        rows.push_back(&f);
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Fixing* a, const Fixing* b) { return a->at < b->at; });
    std::printf("%-20s  %-11s  %-24s  %-11s  %16s  %10s  %7s\n", "fixing (UTC)", "unix_s",
                "product", "basis", "USD/GPU-hour", "GPU-hours", "trades");
    for (const Fixing* f : rows)
      std::printf("%-20s  %-11lld  %-24s  %-11s  %16s  %10lld  %7u\n", utc(f->at).c_str(),
                  static_cast<long long>(f->at / kNanosPerSecond), f->product.name().c_str(),
                  market_data::to_string(f->basis),
                  f->basis == FixingBasis::none ? "-" : market_data::usd(f->value).c_str(),
                  static_cast<long long>(f->volume), f->trades);
    std::printf("%zu fixing(s)", rows.size());
    if (replay.commands > 0) {
      const std::int64_t interval = rule.interval_s * kNanosPerSecond;
      std::printf("; the next, at %s, waits for the first command stamped at or after it",
                  utc((replay.last_time / interval + 1) * interval).c_str());
    }
    std::printf("\n");
  }
  if (problems.empty()) return 0;
  std::fprintf(stderr,
               "%s: the journal did not replay as gpuxd ran it (%zu problem(s)); the fixings "
               "above may differ from those published:\n",
               kTool, problems.size());
  for (const std::string& p : problems)
    std::fprintf(stderr, "  - %s\n", p.c_str());
  return 1;
}
