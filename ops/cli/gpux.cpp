// gpux: the command-line tool for traders, providers and operators. One
// binary, one subcommand per job.
#include <cstdio>
#include <cstring>

#include "operator_tools.h"

int gpux_trade(int argc, char** argv);

namespace {

const char* const kUsage =
    "usage: gpux COMMAND [ARGS...]\n"
    "\n"
    "  trade    place, cancel, replace orders, order status, book depth, market data,\n"
    "           instruments over FIX (gpux trade --help)\n"
    "  audit    replay a stopped gpuxd's journal and reconcile the ledger, balances,\n"
    "           trades and settlements with it (gpux audit --help)\n"
    "  report   settlement reports per trading day, exchange-wide and per participant,\n"
    "           as CSV and HTML with charts (gpux report --help)\n"
    "  provider onboard a GPU provider, qualify its GPUs, run its challenge agent\n"
    "           (gpux provider --help)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::printf("%s", kUsage);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "trade") == 0) return gpux_trade(argc - 2, argv + 2);
  if (std::strcmp(argv[1], "audit") == 0) return gpux_audit(argc - 2, argv + 2);
  if (std::strcmp(argv[1], "report") == 0) return gpux_report(argc - 2, argv + 2);
  if (std::strcmp(argv[1], "provider") == 0) return gpux_provider(argc - 2, argv + 2);
  std::fprintf(stderr, "gpux: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
