// The charting library that report pages inline: Chart.js, from Debian's
// libjs-chart.js, compiled into the binary so that a page needs no network
// and gpux report no file at run time.
#pragma once

#include <string_view>

namespace gpux::report {

// chart.min.js, byte for byte; it holds no "</script".
std::string_view chart_library();

}  // namespace gpux::report
