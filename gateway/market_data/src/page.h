// The live market page: one HTML document with its script inline, which
// loads /chart.js and the JSON API from the service that served it, and
// follows /api/v1/stream. Nothing from elsewhere.
#pragma once

#include <string_view>

namespace gpux::market_data {

std::string_view market_page();

}  // namespace gpux::market_data
