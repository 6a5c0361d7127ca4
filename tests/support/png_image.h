// Chromium's screenshots read back in the tests that render pages (the
// settlement report, the market page): an 8-bit RGB or RGBA PNG, not
// interlaced, decoded into RGB triples. A PNG that is not one fails the
// calling test (doctest REQUIRE).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gpux::test {

struct Image {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // width x height triples, row by row
};

Image decode_png(const std::string& png);

}  // namespace gpux::test
