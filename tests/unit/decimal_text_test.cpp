// Decimal text as the FIX gateway and the tools read it: exact, and each
// refusal named by the rule it breaks.
#include "gpux/fix/decimal_text.h"

#include <doctest/doctest.h>

using gpux::fix::DecimalText;
using gpux::fix::read_micro;
using gpux::fix::read_quantity;

TEST_CASE("decimal text: micro-units read exactly, refusals named") {
  std::int64_t v = -1;
  CHECK(read_micro("2.5", v) == DecimalText::ok);
  CHECK(v == 2'500'000);
  CHECK(read_micro("0.000001", v) == DecimalText::ok);
  CHECK(v == 1);
  CHECK(read_micro(".5", v) == DecimalText::ok);
  CHECK(v == 500'000);
  CHECK(read_micro("1000000000000.999999", v) == DecimalText::ok);  // the largest
  CHECK(v == 1'000'000'000'000'999'999);

  v = -1;
  CHECK(read_micro("1000000000001", v) == DecimalText::too_large);
  // 9.3e18 micro-units would overflow int64 if multiplied out: refused, named.
  CHECK(read_micro("9300000000000", v) == DecimalText::too_large);
  CHECK(read_micro("99999999999999999999999999", v) == DecimalText::too_large);
  CHECK(read_micro("1.1234567", v) == DecimalText::too_many_places);
  for (const char* malformed : {"", ".", "1e18", "-1", "1.2.3", " 1", "0x10"})
    CHECK_MESSAGE(read_micro(malformed, v) == DecimalText::malformed, malformed);
  CHECK(v == -1);  // nothing written on a refusal

  CHECK(read_quantity("5", v) == DecimalText::ok);
  CHECK(v == 5);
  CHECK(read_quantity("5.000", v) == DecimalText::ok);
  CHECK(read_quantity("5.5", v) == DecimalText::fractional);
  CHECK(read_quantity("1000000000000000000", v) == DecimalText::too_large);
  CHECK(gpux::fix::explain(DecimalText::too_large) == "is too large (at most 1000000000000)");
}
