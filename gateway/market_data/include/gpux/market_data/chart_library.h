// The charting library that report pages inline and the market page serves:
// Chart.js, from Debian's libjs-chart.js, compiled into the binary so that a
// page needs no network and neither gpuxd nor gpux report a file at run time.
#pragma once

#include <string_view>

namespace gpux::market_data {

// chart.min.js, byte for byte; it holds no "</script".
std::string_view chart_library();

}  // namespace gpux::market_data
