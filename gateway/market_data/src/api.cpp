#include "gpux/market_data/api.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <variant>

namespace gpux::market_data {

using namespace gpux::matching;

namespace {

constexpr std::int64_t kNanosPerMilli = 1'000'000;

// A JSON text built in place. Strings are escaped; keys are ours.
class Json {
 public:
  Json& raw(std::string_view text) {
    out_ += text;
    return *this;
  }
  Json& string(std::string_view text) {
    out_ += '"';
    for (const char c : text) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
        out_ += escaped;
      } else {
        out_ += c;
      }
    }
    out_ += '"';
    return *this;
  }
  Json& key(std::string_view name) {
    comma();
    string(name).raw(":");
    fresh_ = false;
    return *this;
  }
  Json& number(std::int64_t value) { return raw(std::to_string(value)); }
  Json& open(char bracket) {
    comma();
    out_ += bracket;
    fresh_ = true;
    return *this;
  }
  Json& close(char bracket) {
    out_ += bracket;
    fresh_ = false;
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  void comma() {
    if (!fresh_ && !out_.empty() && out_.back() != ':') out_ += ',';
    fresh_ = false;
  }
  std::string out_;
  bool fresh_ = true;
};

const char* side_name(Side side) {
  return side == Side::buy ? "buy" : "sell";
}

void write_instrument(Json& j, const Instrument& i) {
  const InstrumentSpec& s = i.spec;
  j.open('{');
  j.key("symbol").string(s.symbol);
  j.key("gpu_class").string(s.gpu_class);
  j.key("region").string(s.region);
  j.key("delivery_start_ms").number(s.delivery_start * 1000);
  j.key("delivery_end_ms").number(s.delivery_end * 1000);
  j.key("gate_closure_ms").number(s.gate_closure * 1000);
  j.key("gpus_per_unit").number(s.gpus_per_unit);
  j.key("tick_size").string(usd(s.tick_size));
  j.key("lot_size").number(s.lot_size);
  j.key("min_quantity").number(s.min_quantity);
  j.key("max_quantity").number(s.max_quantity);
  j.key("state").string(to_string(i.state));
  j.key("halted").raw(i.halted ? "true" : "false");
  j.close('}');
}

void write_levels(Json& j, const std::vector<Level>& levels) {
  j.open('[');
  for (const Level& l : levels) {
    j.open('{');
    j.key("price").string(usd(l.price));
    j.key("quantity").number(l.quantity);
    j.close('}');
  }
  j.close(']');
}

void write_book(Json& j, const Instrument& i, const Depth& depth) {
  j.open('{');
  j.key("symbol").string(i.spec.symbol);
  j.key("state").string(to_string(i.state));
  j.key("bids");
  write_levels(j, depth.bids);
  j.key("offers");
  write_levels(j, depth.offers);
  j.close('}');
}

void write_trade(Json& j, const std::string& symbol, const PublicTrade& t) {
  j.open('{');
  j.key("trade").number(static_cast<std::int64_t>(t.trade));
  j.key("symbol").string(symbol);
  j.key("time_ms").number(t.time / kNanosPerMilli);
  j.key("price").string(usd(t.price));
  j.key("quantity").number(t.quantity);
  j.key("aggressor").string(side_name(t.aggressor));
  j.key("block_leg").raw(t.block_leg ? "true" : "false");
  j.close('}');
}

void write_fixing(Json& j, const Fixing& f) {
  j.open('{');
  j.key("product").string(f.product.name());
  j.key("at_ms").number(f.at / kNanosPerMilli);
  j.key("basis").string(to_string(f.basis));
  if (f.basis == FixingBasis::none) {
    j.key("value").raw("null");
  } else {
    j.key("value").string(usd(f.value));
  }
  j.key("volume_gpu_hours").number(f.volume);
  j.key("trades").number(f.trades);
  j.close('}');
}

void write_candles(Json& j, const std::vector<Candle>& candles) {
  j.open('[');
  for (const Candle& c : candles) {
    j.open('{');
    j.key("start_ms").number(c.start / kNanosPerMilli);
    j.key("open").string(usd(c.open));
    j.key("high").string(usd(c.high));
    j.key("low").string(usd(c.low));
    j.key("close").string(usd(c.close));
    j.key("volume").number(c.volume);
    j.close('}');
  }
  j.close(']');
}

Answer error(int status, const std::string& why) {
  Json j;
  j.open('{').key("error").string(why).close('}');
  return {.status = status, .body = j.take()};
}

// The query's parameters; each name at most once.
struct Query {
  std::map<std::string, std::string, std::less<>> values;
  std::optional<std::string> problem;

  std::optional<std::string_view> get(std::string_view name) const {
    const auto found = values.find(name);
    if (found == values.end()) return std::nullopt;
    return found->second;
  }
};

Query parse_query(std::string_view query, const std::set<std::string_view>& allowed) {
  Query q;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!allowed.contains(name)) {
      q.problem = "unknown parameter " + std::string(name);
      return q;
    }
    if (!q.values.emplace(std::string(name), std::string(value)).second) {
      q.problem = "parameter " + std::string(name) + " given twice";
      return q;
    }
  }
  return q;
}

// A whole number in [lo, hi], or why not.
std::variant<std::int64_t, std::string> bounded(const Query& q, std::string_view name,
                                                std::int64_t fallback, std::int64_t lo,
                                                std::int64_t hi) {
  const auto text = q.get(name);
  if (!text) return fallback;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value < lo || value > hi)
    return std::string(name) + " must be a whole number from " + std::to_string(lo) + " to " +
           std::to_string(hi);
  return value;
}

Answer instruments(const MarketFeed& feed) {
  Json j;
  j.open('{').key("instruments").open('[');
  for (const auto& [id, instrument] : feed.instruments())
    write_instrument(j, instrument);
  j.close(']').close('}');
  return {.body = j.take()};
}

}  // namespace

std::string usd(Money micro) {
  // Negated as unsigned: the most negative amount has no signed opposite.
  const auto magnitude = micro < 0 ? 0ull - static_cast<unsigned long long>(micro)
                                   : static_cast<unsigned long long>(micro);
  char text[64];
  std::snprintf(text, sizeof text, "%s%llu.%06llu", micro < 0 ? "-" : "", magnitude / 1'000'000,
                magnitude % 1'000'000);
  return text;
}

Answer answer(const MarketFeed& feed, std::string_view target) {
  const auto mark = target.find('?');
  const std::string_view path = target.substr(0, mark);
  const std::string_view query =
      mark == std::string_view::npos ? std::string_view{} : target.substr(mark + 1);
  const auto symbol_of = [&](const Query& q) -> std::variant<const Instrument*, Answer> {
    const auto symbol = q.get("symbol");
    if (!symbol) return error(400, "symbol is required");
    const Instrument* instrument = feed.find(*symbol);
    if (instrument == nullptr) return error(404, "no instrument " + std::string(*symbol));
    return instrument;
  };
  if (path == "/api/v1/instruments") {
    const Query q = parse_query(query, {});
    if (q.problem) return error(400, *q.problem);
    return instruments(feed);
  }
  if (path == "/api/v1/book" || path == "/api/v1/trades") {
    const bool book = path == "/api/v1/book";
    const Query q = parse_query(query, {"symbol", book ? "depth" : "limit"});
    if (q.problem) return error(400, *q.problem);
    const auto instrument = symbol_of(q);
    if (const auto* a = std::get_if<Answer>(&instrument)) return *a;
    const Instrument& i = *std::get<const Instrument*>(instrument);
    const auto count = book ? bounded(q, "depth", 10, 0, 1000) : bounded(q, "limit", 100, 1, 1000);
    if (const auto* why = std::get_if<std::string>(&count)) return error(400, *why);
    const auto n = static_cast<std::size_t>(std::get<std::int64_t>(count));
    Json j;
    if (book) {
      write_book(j, i, feed.depth(i.spec.id, n));
    } else {
      j.open('{').key("symbol").string(i.spec.symbol).key("trades").open('[');
      for (const PublicTrade& t : feed.trades(i.spec.id, n))
        write_trade(j, i.spec.symbol, t);
      j.close(']').close('}');
    }
    return {.body = j.take()};
  }
  if (path == "/api/v1/candles") {
    const Query q = parse_query(query, {"symbol", "product", "interval", "limit"});
    if (q.problem) return error(400, *q.problem);
    const auto interval = bounded(q, "interval", 60, 60, 86400);
    const auto limit = bounded(q, "limit", 500, 1, 5000);
    for (const auto* v : {&interval, &limit})
      if (const auto* why = std::get_if<std::string>(v)) return error(400, *why);
    const std::int64_t seconds = std::get<std::int64_t>(interval);
    if (seconds % 60 != 0 || 86400 % seconds != 0)
      return error(400, "interval must be a whole number of minutes that divides a day");
    const auto n = static_cast<std::size_t>(std::get<std::int64_t>(limit));
    Json j;
    j.open('{');
    if (q.get("product") && q.get("symbol")) return error(400, "give symbol or product, not both");
    if (const auto name = q.get("product")) {
      const auto product = parse_product(*name);
      if (!product) return error(400, "product must be CLASS.REGION");
      j.key("product").string(product->name()).key("unit").string("gpu-hour");
      j.key("interval_s").number(seconds).key("candles");
      write_candles(j, feed.product_candles(*product, seconds, n));
    } else {
      const auto instrument = symbol_of(q);
      if (const auto* a = std::get_if<Answer>(&instrument)) return *a;
      const Instrument& i = *std::get<const Instrument*>(instrument);
      j.key("symbol").string(i.spec.symbol).key("unit").string("unit");
      j.key("interval_s").number(seconds).key("candles");
      write_candles(j, feed.candles(i.spec.id, seconds, n));
    }
    j.close('}');
    return {.body = j.take()};
  }
  if (path == "/api/v1/index") {
    const Query q = parse_query(query, {"product", "limit"});
    if (q.problem) return error(400, *q.problem);
    const auto limit = bounded(q, "limit", 48, 1, 100000);
    if (const auto* why = std::get_if<std::string>(&limit)) return error(400, *why);
    const auto n = static_cast<std::size_t>(std::get<std::int64_t>(limit));
    std::vector<Product> products = feed.products();
    if (const auto name = q.get("product")) {
      const auto product = parse_product(*name);
      if (!product) return error(400, "product must be CLASS.REGION");
      products = {*product};
    }
    std::vector<ProductFixings> newest;
    for (const Product& product : products) {
      const std::vector<Fixing>& all = feed.fixings(product);
      newest.push_back(
          {.product = product,
           .fixings = {all.end() - static_cast<std::ptrdiff_t>(std::min(all.size(), n)),
                       all.end()}});
    }
    return {.body = index_json(feed.index_rule(), newest)};
  }
  return error(404, "no such path: " + std::string(path));
}

std::string index_json(const IndexRule& rule, const std::vector<ProductFixings>& products) {
  Json j;
  j.open('{').key("interval_s").number(rule.interval_s);
  j.key("min_volume_gpu_hours").number(rule.min_volume);
  j.key("products").open('[');
  for (const ProductFixings& p : products) {
    j.open('{').key("product").string(p.product.name()).key("fixings").open('[');
    for (const Fixing& f : p.fixings)
      write_fixing(j, f);
    j.close(']').close('}');
  }
  j.close(']').close('}');
  return j.take();
}

void merge(FeedUpdate& into, FeedUpdate&& more) {
  const auto add_unique = [](std::vector<InstrumentId>& to, const std::vector<InstrumentId>& ids) {
    for (const InstrumentId id : ids)
      if (std::find(to.begin(), to.end(), id) == to.end()) to.push_back(id);
  };
  add_unique(into.instruments, more.instruments);
  add_unique(into.books, more.books);
  for (PublicTrade& t : more.trades)
    into.trades.push_back(t);
  for (Fixing& f : more.fixings)
    into.fixings.push_back(std::move(f));
}

std::string update_message(const MarketFeed& feed, const FeedUpdate& update,
                           std::int64_t published_us) {
  Json j;
  j.open('{').key("type").string("update");
  j.key("sequence").number(static_cast<std::int64_t>(feed.last_sequence()));
  j.key("published_us").number(published_us);
  const auto& instruments = feed.instruments();
  j.key("instruments").open('[');
  for (const InstrumentId id : update.instruments)
    if (const auto found = instruments.find(id); found != instruments.end())
      write_instrument(j, found->second);
  j.close(']');
  j.key("books").open('[');
  for (const InstrumentId id : update.books)
    if (const auto found = instruments.find(id); found != instruments.end())
      write_book(j, found->second, feed.depth(id, 10));
  j.close(']');
  j.key("trades").open('[');
  for (const PublicTrade& t : update.trades) {
    const auto found = instruments.find(t.instrument);
    write_trade(j, found == instruments.end() ? std::string() : found->second.spec.symbol, t);
  }
  j.close(']');
  j.key("fixings").open('[');
  for (const Fixing& f : update.fixings)
    write_fixing(j, f);
  j.close(']').close('}');
  return j.take();
}

}  // namespace gpux::market_data
