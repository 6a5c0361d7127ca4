// The README's demo, shortened (ops/demo --quick), end to end on this build:
// real gpuxd, real provider agents proving over the provider API, real FIX
// sessions, one block order over three hours. Afterwards the ledger audit
// must pass on the demo's journal, the honest providers must have delivered,
// and the dishonest one must have been caught: its challenges failed, its
// buyers refunded, its collateral penalised.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "local_daemon.h"
#include "run_command.h"
#include "temp_dir.h"

namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> summary(const fs::path& reports, const std::string& scope) {
  std::map<std::string, std::string> metrics;
  for (const auto& day : fs::directory_iterator(reports)) {
    std::ifstream in(day.path() / scope / "summary.csv");
    std::string line;
    while (std::getline(in, line)) {
      const auto comma = line.find(',');
      if (comma != std::string::npos) metrics[line.substr(0, comma)] = line.substr(comma + 1);
    }
  }
  return metrics;
}

}  // namespace

TEST_CASE(
    "ops/demo --quick: the market runs, the audit passes, the dishonest providers are caught") {
  gpux::test::TempDir dir;
  const int fix_port = gpux::local::free_port();
  // Four different free ports: FIX, the provider API, market data, metrics.
  std::vector<int> ports{fix_port};
  while (ports.size() < 4) {
    const int port = gpux::local::free_port();
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
  }
  const std::string command =
      "cd " GPUX_SOURCE_DIR " && GPUX_DEMO_BIN=" GPUX_BUILD_RELATIVE " GPUX_DEMO_DIR=" +
      dir.path().string() + " GPUX_DEMO_FIX_PORT=" + std::to_string(fix_port) +
      " GPUX_DEMO_PROVIDER_PORT=" + std::to_string(ports[1]) +
      " GPUX_DEMO_MARKET_PORT=" + std::to_string(ports[2]) +
      " GPUX_DEMO_METRICS_PORT=" + std::to_string(ports[3]) + " timeout 600 ops/demo --quick";
  const auto demo = gpux::test::run_command(command);
  const std::string& output = demo.output;
  INFO(output);  // the demo's whole story, on any failure below
  REQUIRE(demo.status == 0);
  CHECK(output.find("reconciled: ledger, balances, trades and settlements agree") !=
        std::string::npos);
  // BUYER1 was told where its GPUs are, logged in to them and ran a job there.
  CHECK(output.find("stage=opened") != std::string::npos);
  CHECK(output.find("ssh -p ") != std::string::npos);
  CHECK(output.find("CUDA_VISIBLE_DEVICES=0") != std::string::npos);
  CHECK(output.find("   PASSED after ") != std::string::npos);

  // The audit again, on its own, against the journal the demo left.
  const auto audit = gpux::test::run_command(std::string(GPUX_PATH) + " audit --data-dir " +
                                             (dir.path() / "data").string() + " --config " +
                                             (dir.path() / "gpuxd.conf").string());
  CHECK_MESSAGE(audit.status == 0, audit.output);

  // The journal holds the market's terms: without gpuxd's configuration
  // the replay is the same (only the participants' names are missing).
  const auto unconfigured = gpux::test::run_command(std::string(GPUX_PATH) + " report --data-dir " +
                                                    (dir.path() / "data").string() + " --out " +
                                                    (dir.path() / "unconfigured").string());
  CHECK_MESSAGE(unconfigured.status == 0, unconfigured.output);
  CHECK(summary(dir.path() / "unconfigured", "exchange") ==
        summary(dir.path() / "reports", "exchange"));

  // Onboarding again into a provider's folder would overwrite its token:
  // refused before the exchange is asked (it is not even running now).
  const fs::path agent = dir.path() / "providers" / "prov-a" / "agent.conf";
  const auto text_of = [](const fs::path& file) {
    std::ifstream in(file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = text_of(agent);
  REQUIRE(before.find("token = ") != std::string::npos);
  const auto again = gpux::test::run_command(
      "GPUX_OPERATOR_TOKEN=x " + std::string(GPUX_PATH) +
      " provider onboard --exchange 127.0.0.1:1 --name prov-a --region us-east --simulate "
      "H100-SXM,1 --out " +
      (dir.path() / "providers" / "prov-a").string());
  CHECK(again.status == 1);
  CHECK_MESSAGE(again.output.find("agent.conf exists: provider 'prov-a' on ") != std::string::npos,
                again.output);
  CHECK(text_of(agent) == before);

  const auto exchange = summary(dir.path() / "reports", "exchange");
  REQUIRE(!exchange.empty());
  CHECK(std::stoi(exchange.at("trades")) > 0);
  CHECK(std::stoi(exchange.at("obligations_settled")) > 0);
  CHECK(exchange.at("balances_reconcile") == "yes");
  CHECK(exchange.at("blocks_filled") == "1");  // BUYER1's three-hour block

  // Honest providers prove what they sold; the dishonest one, skipping 30% of
  // its tiles, fails nearly every challenge (0.7^8 per challenge at most).
  const auto dishonest = summary(dir.path() / "reports", "participant-1002");
  REQUIRE_MESSAGE(!dishonest.empty(), output);
  CHECK(std::stoi(dishonest.at("challenges_recorded")) > 0);
  CHECK(std::stoi(dishonest.at("challenges_passed")) * 2 <
        std::stoi(dishonest.at("challenges_recorded")));
  CHECK(dishonest.at("penalties_usd") != "0.000000");
  CHECK(dishonest.at("refunds_usd") != "0.000000");
  const auto honest = summary(dir.path() / "reports", "participant-1000");
  REQUIRE(!honest.empty());
  CHECK(honest.at("penalties_usd") == "0.000000");
  CHECK(honest.at("challenges_passed") == honest.at("challenges_recorded"));
  CHECK(std::stoi(honest.at("verified_units")) > 0);  // BUYER1's block is prov-a's at least
  // Proof of quantity. prov-x claimed 3 GPUs and ran 1: caught at
  // qualification. prov-b sold 3 GPUs' hours and runs 1 in delivery: in each
  // round it proves one unit, and the units it cannot prove are refunded and
  // penalised (when it sold more than one in an hour, as it nearly always does).
  CHECK(output.find("prov-x: 1 of 3 H100-SXM GPUs qualified") != std::string::npos);
  const auto oversold = summary(dir.path() / "reports", "participant-1001");
  if (!oversold.empty() && oversold.at("challenges_recorded") != oversold.at("challenges_passed")) {
    CHECK(oversold.at("penalties_usd") != "0.000000");
    CHECK(oversold.at("refunds_usd") != "0.000000");
  }

  // The exchange's money chart: deposits and collateral run off its scale,
  // so that a penalty, beside them, is still a bar one can see: at least 5
  // of the 760 pixels' 420 wide plot, as it was when drawn in SVG.
  int penalty_charts = 0;
  for (const auto& day : fs::directory_iterator(dir.path() / "reports")) {
    const std::string html = text_of(day.path() / "exchange" / "report.html");
    const auto chart = html.find("\"Money moved by reason\"");
    if (chart == std::string::npos) continue;
    const auto config = html.rfind("<script type=\"application/json\"", chart);
    const std::string json = html.substr(config, html.find("</script>", chart) - config);
    // "labels":["deposit: 210,000.00 (off scale)",...,"penalty: 64.48",...]
    const auto array = [&](const std::string& key) {
      std::vector<std::string> items;
      const auto from = json.find("\"" + key + "\":[") + key.size() + 4;
      std::string item;
      bool quoted = false;
      for (std::size_t i = from; json[i] != ']' || quoted; ++i) {
        if (json[i] == '"') {
          quoted = !quoted;
        } else if (json[i] == ',' && !quoted) {
          items.push_back(item);
          item.clear();
        } else {
          item += json[i];
        }
      }
      items.push_back(item);
      return items;
    };
    const auto labels = array("labels"), amounts = array("data");
    REQUIRE(labels.size() == amounts.size());
    const auto max_at = json.find("\"max\":", json.find("\"x\":{")) + 6;
    const double top = std::stod(json.substr(max_at, json.find(',', max_at) - max_at));
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i].rfind("penalty:", 0) != 0) continue;
      ++penalty_charts;
      CHECK(std::stod(amounts[i]) * 420 / top >= 5);
    }
    CHECK(json.find("(off scale)") != std::string::npos);
  }
  CHECK(penalty_charts > 0);

  // A statement per participant for the demo's period, each reconciled and
  // printed to PDF (ops/setup installs Chromium).
  int statements = 0;
  for (const auto& entry :
       fs::recursive_directory_iterator(dir.path() / "reports" / "statements")) {
    if (entry.path().filename() != "statement_summary.csv") continue;
    CAPTURE(entry.path());
    ++statements;
    CHECK(text_of(entry.path()).find("\nreconciles,yes\n") != std::string::npos);
    CHECK(text_of(entry.path().parent_path() / "statement.pdf").rfind("%PDF-", 0) == 0);
  }
  CHECK(statements >= 6);  // three buyers, three providers
  CHECK(output.find("statement.pdf") != std::string::npos);
}
