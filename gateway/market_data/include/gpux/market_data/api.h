// The public HTTP/JSON API over a MarketFeed: each request target answered
// as a status and a JSON body, and the update a WebSocket subscriber gets
// after each batch of durable commands. No sockets here (server.h has them),
// so that tests and `gpux index` read the same JSON the service sends.
//
// Money is a decimal string of USD with all six places ("2.400000"): exact,
// where a JSON number would be a float. Times are Unix milliseconds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gpux/market_data/feed.h"

namespace gpux::market_data {

struct Answer {
  int status = 200;  // 200, 400 (a bad parameter, named), 404 (no such path or symbol)
  std::string body;  // JSON; an error is {"error": "..."}
};

// GET `target` (path and query), one of:
//   /api/v1/instruments
//   /api/v1/book?symbol=S[&depth=N]            aggregated depth, N levels a side (default 10)
//   /api/v1/trades?symbol=S[&limit=N]          newest first (default 100, at most 1000)
//   /api/v1/candles?symbol=S|product=P[&interval=SECONDS][&limit=N]
//   /api/v1/index[?product=P][&limit=N]        the fixings, newest last
Answer answer(const MarketFeed& feed, std::string_view target);

// Fixings in the shape of /api/v1/index's body, each product's oldest first:
// {"interval_s":...,"min_volume_gpu_hours":...,"products":[{"product":
// "CLASS.REGION","fixings":[{"product","at_ms","basis","value",
// "volume_gpu_hours","trades"},...]},...]}. `gpux index --json` writes it.
struct ProductFixings {
  Product product;
  std::vector<Fixing> fixings;
};
std::string index_json(const IndexRule& rule, const std::vector<ProductFixings>& products);

// What subscribers get for `update` (the changes of one or more commands up
// to `sequence`): {"type":"update","sequence":...,"instruments":[...],
// "books":[...],"trades":[...],"fixings":[...]}, books at 10 levels a side.
// `published_us`: when the first of those commands was durable (Unix
// microseconds), so that a subscriber can tell how late it is.
std::string update_message(const MarketFeed& feed, const FeedUpdate& update,
                           std::int64_t published_us);

// Merges `more` into `into`, as one update.
void merge(FeedUpdate& into, FeedUpdate&& more);

// Micro-USD as "12.000500".
std::string usd(matching::Money micro);

}  // namespace gpux::market_data
