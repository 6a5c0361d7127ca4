// GPUX_CHART_JS names the file at build time (see gateway/market_data/CMakeLists.txt); the
// assembler includes its bytes as they are.
#include "gpux/market_data/chart_library.h"

#include <cstddef>

asm(".pushsection .rodata\n"
    ".global gpux_chart_js_begin\n"
    "gpux_chart_js_begin:\n"
    ".incbin \"" GPUX_CHART_JS
    "\"\n"
    ".global gpux_chart_js_end\n"
    "gpux_chart_js_end:\n"
    ".popsection\n");

extern "C" const char gpux_chart_js_begin[];
extern "C" const char gpux_chart_js_end[];

namespace gpux::market_data {

std::string_view chart_library() {
  return {gpux_chart_js_begin, static_cast<std::size_t>(gpux_chart_js_end - gpux_chart_js_begin)};
}

}  // namespace gpux::market_data
