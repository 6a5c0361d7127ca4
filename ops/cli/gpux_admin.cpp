// gpux admin: the exchange operator's calls to a running gpuxd, over its
// provider API with the operator's token. Each change is a journaled command:
// in effect from its sequence on, replayed alike, no restart.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "bench/arguments.h"
#include "provider_session.h"

namespace {

using namespace gpux;
using provider::Frame;

void usage(const char*) {
  std::printf(
      "usage: gpux admin terms --exchange HOST:PORT [--tls-ca FILE] [--json]\n"
      "                        [--buyer-fee-ppm N] [--challenges N] [--penalty-ppm N]\n"
      "                        [--challenge-seed N]\n"
      "\n"
      "terms   the market's terms in effect: buyers' fee hold, challenges per\n"
      "        obligation, penalty on unverified notional, challenge seed. With any\n"
      "        option, changes those first: a SetMarketTerms command, journaled, in\n"
      "        effect from its sequence on. The fee hold cannot change while buyers'\n"
      "        money is held under the current one (the exchange says so); delivery\n"
      "        terms apply to the challenges scheduled and obligations settled after.\n"
      "\n"
      "The operator's token is read from $GPUX_OPERATOR_TOKEN; --exchange is gpuxd's\n"
      "provider API (provider_address, provider_port), --tls-ca its CA when TLS.\n"
      "Exit status: 0 done, 1 refused (the message says why), 2 usage, 3 cannot\n"
      "reach the exchange.\n");
}

// A whole number for a 32-bit field, refused (exit 2) past it rather than cut.
std::uint32_t u32(bench::Arguments& args, const char* option) {
  const std::size_t n = args.count(0);
  if (n > 0xFFFFFFFFu) {
    std::fprintf(stderr, "gpux admin terms: %s takes at most 4294967295, not %zu\n", option, n);
    std::exit(2);
  }
  return static_cast<std::uint32_t>(n);
}

int terms(int argc, char** argv) {
  std::string exchange, tls_ca;
  bool json = false;
  Frame request;
  auto& change = *request.mutable_market_terms_request();
  bench::Arguments args(argc + 1, argv - 1, usage);
  while (args.next()) {
    if (args.is("--exchange")) {
      exchange = args.value();
    } else if (args.is("--tls-ca")) {
      tls_ca = args.value();
    } else if (args.is("--json")) {
      json = true;
    } else if (args.is("--buyer-fee-ppm")) {
      change.set_buyer_fee_ppm(u32(args, "--buyer-fee-ppm"));
    } else if (args.is("--challenges")) {
      change.set_challenges_per_obligation(u32(args, "--challenges"));
    } else if (args.is("--penalty-ppm")) {
      change.set_penalty_ppm(u32(args, "--penalty-ppm"));
    } else if (args.is("--challenge-seed")) {
      change.set_challenge_seed(args.count(0));
    } else {
      args.unknown();
    }
  }
  if (exchange.empty()) {
    std::fprintf(stderr, "gpux admin terms: --exchange HOST:PORT is required\n");
    return 2;
  }
  const char* token = std::getenv("GPUX_OPERATOR_TOKEN");
  if (token == nullptr || *token == '\0') {
    std::fprintf(stderr, "gpux admin: set GPUX_OPERATOR_TOKEN to the exchange operator's token\n");
    return 2;
  }
  try {
    cli::ProviderSession session(exchange, token, tls_ca, "gpux admin");
    const auto t = session.call(request, Frame::kMarketTerms).market_terms();
    if (json)
      std::printf(
          "{\"buyer_fee_ppm\":%u,\"challenges_per_obligation\":%u,\"penalty_ppm\":%u,"
          "\"challenge_seed\":%llu,\"set_at_sequence\":%llu}\n",
          t.buyer_fee_ppm(), t.challenges_per_obligation(), t.penalty_ppm(),
          static_cast<unsigned long long>(t.challenge_seed()),
          static_cast<unsigned long long>(t.sequence()));
    else
      std::printf(
          "%s buyer_fee_ppm=%u challenges_per_obligation=%u penalty_ppm=%u "
          "challenge_seed=%llu\n",
          t.sequence() == 0
              ? "terms in effect:"
              : ("terms set at sequence " + std::to_string(t.sequence()) + ":").c_str(),
          t.buyer_fee_ppm(), t.challenges_per_obligation(), t.penalty_ppm(),
          static_cast<unsigned long long>(t.challenge_seed()));
    return 0;
  } catch (const cli::Unreachable& e) {
    std::fprintf(stderr, "gpux admin: cannot reach %s: %s\n", exchange.c_str(), e.what());
    return 3;
  } catch (const cli::Refused& e) {
    std::fprintf(stderr, "gpux admin: refused: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpux admin: %s\n", e.what());
    return 3;
  }
}

}  // namespace

int gpux_admin(int argc, char** argv) {
  if (argc >= 1 && std::string(argv[0]) == "terms") return terms(argc - 1, argv + 1);
  if (argc >= 1 && (std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h")) {
    usage(nullptr);
    return 0;
  }
  usage(nullptr);
  return 2;
}
