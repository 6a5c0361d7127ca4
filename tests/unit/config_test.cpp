// gpuxd's configuration: defaults, settings, bootstrap, and errors that name
// the file, line and field.
#include "gpux/daemon/config.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "market.h"

using namespace gpux::test;
using gpux::daemon::ConfigError;
using gpux::daemon::parse_config;

TEST_CASE("an empty configuration gives the documented defaults") {
  const auto config = parse_config("# nothing\n\n", "empty.conf");
  CHECK(config.pipeline.data_directory == "data");
  CHECK(config.pipeline.snapshot_every == 1'000'000);
  CHECK(config.pipeline.sync);
  CHECK(config.bootstrap.empty());
}

TEST_CASE("settings and bootstrap lines") {
  const auto config = parse_config(R"(
data_dir = /var/lib/gpux   # trailing comment
snapshot_every = 5000
sync = false
buyer_fee_ppm = 2500
participant = 7 cash=1000000000
instrument = 3 symbol=H100-SXM.us-east.20261122T15 class=H100-SXM region=us-east start=1795446000 tick=1000 max=64 reference=2000000 band=1000000
capacity = 7 instrument=3 units=16
)",
                                   "gpux.conf");
  CHECK(config.pipeline.data_directory == "/var/lib/gpux");
  CHECK(config.pipeline.snapshot_every == 5'000);
  CHECK(!config.pipeline.sync);
  CHECK(config.pipeline.engine.buyer_fee_ppm == 2'500);
  REQUIRE(config.bootstrap.size() == 5);
  CHECK(std::get<AddParticipant>(config.bootstrap[0]).participant == 7);
  CHECK(std::get<AdjustCash>(config.bootstrap[1]).amount == 1'000'000'000);
  const InstrumentSpec& spec = *std::get<ListInstrument>(config.bootstrap[2]).spec;
  CHECK(spec.id == 3);
  CHECK(spec.delivery_end == spec.delivery_start + 3600);
  CHECK(spec.gate_closure == spec.delivery_start - 300);
  CHECK(spec.lot_size == 1);
  CHECK(std::get<ChangeInstrumentState>(config.bootstrap[3]).state == InstrumentState::open);
  CHECK(std::get<SetSellCapacity>(config.bootstrap[4]).capacity == 16);
}

TEST_CASE("errors name the file, line and field") {
  const auto error_of = [](const std::string& text) {
    try {
      parse_config(text, "bad.conf");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("snapshot_every = soon\n") ==
        "bad.conf:1: snapshot_every: snapshot_every must be a whole number, not 'soon'");
  CHECK(error_of("\nsync = maybe\n") == "bad.conf:2: sync: expected true or false, not 'maybe'");
  CHECK(error_of("colour = blue\n") == "bad.conf:1: colour: unknown key (see gpuxd --help)");
  CHECK(error_of("no equals sign\n") == "bad.conf:1: no equals sign: expected key = value");
  CHECK(error_of("capacity = 1 instrument=2\n") == "bad.conf:1: capacity: missing units=");
  CHECK(error_of("participant = 1 cash=10 colour=red\n") ==
        "bad.conf:1: participant: unknown field 'colour'");
  CHECK(error_of("max_batch = 0\n") == "bad.conf:1: max_batch: must be at least 1");
}

TEST_CASE("product calendar lines") {
  const auto config = parse_config(R"(
listing_horizon_hours = 48
product = H100-SXM region=us-east tick=1000 max=64 reference=2000000 band=1000000 gate_lead=600
product = H200-8x region=eu-west tick=1000 lot=8 max=64 reference=3000000 band=1000000 gpus_per_unit=8
)",
                                   "calendar.conf");
  CHECK(config.calendar.horizon_hours == 48);
  REQUIRE(config.calendar.products.size() == 2);
  CHECK(config.calendar.products[0].gpu_class == "H100-SXM");
  CHECK(config.calendar.products[0].gate_lead == 600);
  CHECK(config.calendar.products[1].terms.lot_size == 8);
  CHECK(config.calendar.products[1].terms.min_quantity == 8);
  CHECK(config.calendar.products[1].terms.gpus_per_unit == 8);
  // Node products are node classes of their size, and only they trade nodes.
  CHECK_THROWS_WITH_AS(
      parse_config("product = H200 region=x tick=1 max=8 reference=2 band=0 gpus_per_unit=8\n",
                   "c"),
      "c:1: product: gpus_per_unit=8 needs a node class named after it (H200-8x)", ConfigError);
  CHECK_THROWS_WITH_AS(
      parse_config("product = H200-8x region=x tick=1 max=8 reference=2 band=0 gpus_per_unit=4\n",
                   "c"),
      "c:1: product: H200-8x names 8-GPU nodes: gpus_per_unit must be 8", ConfigError);
  CHECK_THROWS_WITH_AS(
      parse_config("instrument = 1 symbol=S class=H200-8x region=x start=0 tick=1 max=8 "
                   "reference=2 band=0\n",
                   "c"),
      "c:1: instrument: H200-8x names 8-GPU nodes: gpus_per_unit must be 8", ConfigError);
  CHECK_THROWS_WITH_AS(parse_config("product = H100 region=x max=1 reference=2 band=0\n", "c"),
                       "c:1: product: missing tick=", ConfigError);
  CHECK_THROWS_WITH_AS(parse_config("listing_horizon_hours = 1000\n", "c"),
                       "c:1: listing_horizon_hours: must be between 0 and 336", ConfigError);
  CHECK_THROWS_WITH_AS(
      parse_config("verification_profile = h100\n", "c"),
      "c:1: verification_profile: no profile 'h100' (gpux-verify classes lists them)", ConfigError);
  CHECK(parse_config("verification_profile = cpu-sim\n", "c").provider.profile_override ==
        "cpu-sim");
}

TEST_CASE("a configuration path that is a directory or missing is refused, not read as empty") {
  CHECK_THROWS_WITH_AS(gpux::daemon::load_config(GPUX_SOURCE_DIR "/ops"),
                       GPUX_SOURCE_DIR "/ops: is a directory, not a configuration file",
                       ConfigError);
  CHECK_THROWS_WITH_AS(gpux::daemon::load_config(GPUX_SOURCE_DIR "/no-such.conf"),
                       GPUX_SOURCE_DIR "/no-such.conf: cannot read the configuration file",
                       ConfigError);
}

TEST_CASE("the shipped example configuration parses") {
  const auto config = gpux::daemon::load_config(GPUX_SOURCE_DIR "/ops/gpuxd.example.conf");
  CHECK(config.calendar.horizon_hours == 48);
  CHECK(config.calendar.products.size() == 4);
  CHECK(config.bootstrap.size() == 5);
  CHECK(config.fix.port == 9878);
  CHECK(config.fix.clients.size() == 2);
  CHECK(config.calendar.products[0].terms.taker_fee_ppm == 2'000);
}

TEST_CASE("delivery and settlement settings, with fees per product and collateral") {
  const auto config = parse_config(
      "buyer_fee_ppm = 3000\nchallenges_per_obligation = 6\npenalty_ppm = 250000\n"
      "challenge_seed = 42\nsettle_after_seconds = 120\n"
      "participant = 7 cash=5000 collateral=2000\n"
      "product = A100 region=x tick=1 max=1 reference=100 band=0 maker_fee_ppm=100 "
      "taker_fee_ppm=3000\n",
      "d.conf");
  const auto& delivery = config.pipeline.engine.delivery;
  CHECK(delivery.challenges_per_obligation == 6);
  CHECK(delivery.penalty_ppm == 250'000);
  CHECK(delivery.challenge_seed == 42);
  CHECK(config.calendar.settle_after == 120);
  REQUIRE(config.bootstrap.size() == 3);
  CHECK(std::get<PostCollateral>(config.bootstrap[2]).amount == 2'000);
  CHECK(config.calendar.products.at(0).terms.maker_fee_ppm == 100);
  CHECK_THROWS_WITH_AS(parse_config("challenges_per_obligation = 0\n", "c"),
                       "c:1: challenges_per_obligation: must be between 1 and 60", ConfigError);
  CHECK_THROWS_WITH_AS(parse_config("settle_after_seconds = -1\n", "c"),
                       "c:1: settle_after_seconds: must not be negative", ConfigError);
}

TEST_CASE("FIX settings") {
  const auto config = parse_config(
      "fix_port = 9878\nfix_comp_id = EXCH\nfix_max_messages_per_second = 50\n"
      "fix_client = ALICE participant=1 password=none\nfix_client = BOB participant=2 "
      "password=none\n",
      "fix.conf");
  CHECK(config.fix.port == 9878);
  CHECK(config.fix.comp_id == "EXCH");
  CHECK(config.fix.max_messages_per_second == 50);
  CHECK(config.fix.clients.at("BOB").participant == 2);
  CHECK_THROWS_WITH_AS(parse_config("fix_port = 70000\n", "c"),
                       "c:1: fix_port: must be a TCP port, or 0 for none", ConfigError);
  CHECK_THROWS_WITH_AS(parse_config("fix_client = ALICE\n", "c"),
                       "c:1: fix_client: missing participant=", ConfigError);
}

TEST_CASE("every default in the configuration reference reads back as a valid setting") {
  // The reference is generated from the same table that parses: a default
  // outside its own key's rules would show here.
  std::istringstream reference(gpux::daemon::config_reference());
  int plain_keys = 0;
  for (std::string line; std::getline(reference, line);) {
    const auto eq = line.find(" = ");
    if (line.rfind("  ", 0) != 0 || line[2] == ' ' || eq == std::string::npos) continue;
    const std::string key = line.substr(2, eq - 2);
    std::string value = line.substr(eq + 3);
    value = value.substr(0, value.find(' '));
    const bool plain = value.find_first_of("[]=ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos ||
                       value == "GPUX";
    if (!plain || value == "\"\"") continue;
    ++plain_keys;
    CAPTURE(line);
    CHECK_NOTHROW(parse_config(key + " = " + value + "\n", "reference"));
  }
  CHECK(plain_keys >= 25);
}

TEST_CASE("docs/configuration.md holds gpuxd's configuration reference as generated") {
  std::ifstream in(GPUX_SOURCE_DIR "/docs/configuration.md");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  // Regenerate with: build/release/gateway/gpuxd --config-reference
  CHECK(text.str().find(gpux::daemon::config_reference()) != std::string::npos);
}
