#include "png_image.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>

namespace gpux::test {

namespace {

std::uint32_t big_endian(const std::string& s, std::size_t at) {
  return std::uint32_t(std::uint8_t(s[at])) << 24 | std::uint32_t(std::uint8_t(s[at + 1])) << 16 |
         std::uint32_t(std::uint8_t(s[at + 2])) << 8 | std::uint32_t(std::uint8_t(s[at + 3]));
}

}  // namespace

Image decode_png(const std::string& png) {
  REQUIRE(png.size() > 33);
  REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  Image image;
  image.width = big_endian(png, 16);
  image.height = big_endian(png, 20);
  REQUIRE(png[24] == 8);  // bit depth
  const int colour = png[25];
  REQUIRE((colour == 2 || colour == 6));
  REQUIRE(png[28] == 0);  // not interlaced
  const std::size_t channels = colour == 6 ? 4 : 3;
  std::string compressed;
  for (std::size_t at = 8; at + 12 <= png.size();) {
    const std::uint32_t length = big_endian(png, at);
    if (png.compare(at + 4, 4, "IDAT") == 0) compressed += png.substr(at + 8, length);
    at += 12 + length;
  }
  const std::size_t stride = image.width * channels;
  std::vector<std::uint8_t> raw((stride + 1) * image.height);
  uLongf raw_size = raw.size();
  REQUIRE(uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()),
                     compressed.size()) == Z_OK);
  REQUIRE(raw_size == raw.size());
  std::vector<std::uint8_t> pixels(stride * image.height), previous(stride, 0);
  for (std::uint32_t y = 0; y < image.height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* in = &raw[y * (stride + 1) + 1];
    std::uint8_t* out = &pixels[y * stride];
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= channels ? out[x - channels] : 0;
      const int b = previous[x];
      const int c = x >= channels ? previous[x - channels] : 0;
      int predicted = 0;
      switch (filter) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = a;
          break;
        case 2:
          predicted = b;
          break;
        case 3:
          predicted = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          FAIL("PNG filter " << int(filter));
      }
      out[x] = static_cast<std::uint8_t>(in[x] + predicted);
    }
    std::copy(out, out + stride, previous.begin());
  }
  for (std::size_t i = 0; i < pixels.size(); i += channels)
    image.rgb.insert(image.rgb.end(), {pixels[i], pixels[i + 1], pixels[i + 2]});
  return image;
}

}  // namespace gpux::test
