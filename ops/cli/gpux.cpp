// gpux: the command-line tool for traders, providers and operators. One
// subcommand per job, each its own executable beside this one (gpux-trade,
// gpux-audit, gpux-report, gpux-index, gpux-provider), run the way git
// runs its own.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* const kUsage =
    "usage: gpux COMMAND [ARGS...]\n"
    "\n"
    "  trade    place, cancel, replace orders, order status, book depth, market data,\n"
    "           instruments over FIX (gpux trade --help)\n"
    "  audit    replay gpuxd's journal and reconcile the ledger, balances,\n"
    "           trades and settlements with it (gpux audit --help)\n"
    "  report   settlement reports per trading day, exchange-wide and per participant,\n"
    "           as CSV and HTML with charts (gpux report --help)\n"
    "  index    the GPU-hour index's fixings replayed from gpuxd's journal, to\n"
    "           reproduce a published one (gpux index --help)\n"
    "  provider onboard a GPU provider, qualify its GPUs, run its challenge agent\n"
    "           (gpux provider --help)\n"
    "  admin    the operator's calls to a running gpuxd: the market's terms,\n"
    "           providers, seats, instruments\n"
    "           (gpux admin --help)\n";

const char* const kSubcommands[] = {"trade", "audit", "report", "index", "provider", "admin"};

// The folder this executable was started from, where its subcommands are.
std::string own_directory() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return ".";
  const std::string self(path, static_cast<std::size_t>(n));
  return self.substr(0, self.rfind('/'));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::printf("%s", kUsage);
    return argc < 2 ? 2 : 0;
  }
  for (const char* name : kSubcommands) {
    if (std::strcmp(argv[1], name) != 0) continue;
    const std::string program = own_directory() + "/gpux-" + name;
    std::vector<char*> args{const_cast<char*>(program.c_str())};
    args.insert(args.end(), argv + 2, argv + argc);
    args.push_back(nullptr);
    ::execv(program.c_str(), args.data());
    std::fprintf(stderr, "gpux: cannot run %s: %s\n", program.c_str(), std::strerror(errno));
    return 127;
  }
  std::fprintf(stderr, "gpux: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
