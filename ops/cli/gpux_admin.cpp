// gpux admin: the exchange operator's calls to a running gpuxd, over its
// provider API with the operator's token. Each change is a journaled command:
// in effect from its sequence on, replayed alike, no restart.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "bench/arguments.h"
#include "provider_session.h"
#include "support/json_text.h"

namespace {

using namespace gpux;
using provider::Frame;

void usage(const char*) {
  std::printf(
      "usage: gpux admin terms --exchange HOST:PORT [--tls-ca FILE] [--json]\n"
      "                        [--buyer-fee-ppm N] [--challenges N] [--penalty-ppm N]\n"
      "                        [--challenge-seed N]\n"
      "       gpux admin providers|seats|instruments --exchange HOST:PORT\n"
      "                        [--tls-ca FILE] [--json]\n"
      "\n"
      "providers  the registered providers: participant, name, region, the GPUs\n"
      "        each offers by class and region, and its FIX seat.\n"
      "seats   the FIX seats: SenderCompID, participant, password (set, none yet:\n"
      "        cannot log on, or not needed: password=none), cancel on disconnect,\n"
      "        enabled, and the provider it belongs to.\n"
      "       gpux admin seat-create SENDER --participant N [--no-password]\n"
      "       gpux admin seat-password|seat-disable|seat-enable SENDER\n"
      "                        (each also takes [--cancel-on-disconnect yes|no]\n"
      "                        --exchange HOST:PORT [--tls-ca FILE] [--json])\n"
      "seat-create  a new FIX seat for participant N, which can log on at once; its\n"
      "        password is printed once (--no-password: none, anyone who reaches\n"
      "        the FIX port may use it).\n"
      "seat-password  a new password for the seat, printed once; the old one no\n"
      "        longer logs on (a session logged on stays).\n"
      "seat-disable  logs the seat's session out and refuses its Logons (its orders\n"
      "        stay, unless cancel on disconnect); seat-enable lets it in again.\n"
      "        Each is a journaled SetSeat, in effect without a restart.\n"
      "instruments  the listed products: id, symbol, class, region, state (and\n"
      "        whether trading is halted) and delivery hour (UTC).\n"
      "       gpux admin product-terms [CLASS REGION [--maker-fee-ppm N]\n"
      "                        [--taker-fee-ppm N] [--reference-price MICROUSD]\n"
      "                        [--band-width MICROUSD] [--verification-profile NAME]\n"
      "                        [--from-sequence N]]\n"
      "                        --exchange HOST:PORT [--tls-ca FILE] [--json]\n"
      "product-terms  each product's fees, price band and verification profile (the\n"
      "        class profile its GPUs are proved with; \"\" for the class's own), in\n"
      "        effect and scheduled.\n"
      "        With a product and an option, changes those from sequence N on (at\n"
      "        once without --from-sequence): a SetProductTerms, journaled. Every\n"
      "        hour of the product listed from then on carries them; hours listed\n"
      "        before keep theirs.\n"
      "       gpux admin halt|resume INSTRUMENT --exchange HOST:PORT [--tls-ca FILE]\n"
      "halt    stop trading in an open instrument (an id or a symbol): new orders,\n"
      "        replaces and block orders are refused (instrument_halted), cancels go\n"
      "        on, resting orders stay; resume lets it trade again. Journaled.\n"
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

// The options every call takes; false when one is missing (said, exit 2).
struct Connection {
  std::string exchange, tls_ca;
  bool json = false;
  bool take(bench::Arguments& args) {
    if (args.is("--exchange")) {
      exchange = args.value();
    } else if (args.is("--tls-ca")) {
      tls_ca = args.value();
    } else if (args.is("--json")) {
      json = true;
    } else {
      return false;
    }
    return true;
  }
};

// Runs `call` on a session with the operator's token; the exit status.
template <class Call>
int with_session(const char* command, const Connection& where, Call call) {
  if (where.exchange.empty()) {
    std::fprintf(stderr, "gpux admin %s: --exchange HOST:PORT is required\n", command);
    return 2;
  }
  const char* token = std::getenv("GPUX_OPERATOR_TOKEN");
  if (token == nullptr || *token == '\0') {
    std::fprintf(stderr, "gpux admin: set GPUX_OPERATOR_TOKEN to the exchange operator's token\n");
    return 2;
  }
  try {
    cli::ProviderSession session(where.exchange, token, where.tls_ca, "gpux admin");
    call(session);
    return 0;
  } catch (const cli::Unreachable& e) {
    std::fprintf(stderr, "gpux admin: cannot reach %s: %s\n", where.exchange.c_str(), e.what());
    return 3;
  } catch (const cli::Refused& e) {
    std::fprintf(stderr, "gpux admin: refused: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpux admin: %s\n", e.what());
    return 3;
  }
}

// One of the operator's lists: `request` asks, `print` prints the reply,
// as a table or (--json) a JSON object per line.
template <class Print>
int list(const char* command, int argc, char** argv, Frame request, Frame::BodyCase reply,
         Print print) {
  Connection where;
  bench::Arguments args(argc + 1, argv - 1, usage);
  while (args.next())
    if (!where.take(args)) args.unknown();
  return with_session(command, where, [&](cli::ProviderSession& session) {
    print(session.call(request, reply), where.json);
  });
}

int providers(int argc, char** argv) {
  Frame request;
  request.mutable_list_providers();
  return list(
      "providers", argc, argv, request, Frame::kProviderList, [](const Frame& f, bool json) {
        if (!json)
          std::printf("%-12s %-20s %-12s %-30s %s\n", "participant", "name", "region",
                      "GPUs offered", "FIX seat");
        for (const auto& p : f.provider_list().providers()) {
          std::string gpus;
          for (const auto& c : p.capacity())
            gpus += (gpus.empty() ? "" : ", ") + std::to_string(c.count()) + " " + c.gpu_class() +
                    (c.region() == p.region() ? "" : " in " + c.region());
          if (json) {
            std::printf(
                "{\"participant\":%u,\"name\":\"%s\",\"region\":\"%s\",\"gpus\":\"%s\","
                "\"fix_seat\":\"%s\",\"fix_password_set\":%s}\n",
                p.participant(), json::escape(p.name()).c_str(), json::escape(p.region()).c_str(),
                json::escape(gpus).c_str(), json::escape(p.fix_sender_comp_id()).c_str(),
                p.fix_password_set() ? "true" : "false");
          } else {
            const std::string seat =
                p.fix_sender_comp_id().empty()
                    ? "none"
                    : p.fix_sender_comp_id() + (p.fix_password_set() ? "" : " (no password yet)");
            std::printf("%-12u %-20s %-12s %-30s %s\n", p.participant(), p.name().c_str(),
                        p.region().c_str(), gpus.empty() ? "none" : gpus.c_str(), seat.c_str());
          }
        }
      });
}

void print_seat_heading() {
  std::printf("%-20s %-12s %-12s %-20s %-8s %s\n", "seat", "participant", "password",
              "cancel on disconnect", "enabled", "provider");
}

// One seat, as a table row or a JSON object; `password` a new one, if issued.
void print_seat(const proto::provider::SeatList::Seat& s, bool json,
                const std::string& password = {}) {
  namespace pb = proto::provider;
  const char* state = s.password() == pb::SeatList::Seat::SET          ? "set"
                      : s.password() == pb::SeatList::Seat::NOT_NEEDED ? "not needed"
                                                                       : "none yet";
  if (json) {
    std::printf(
        "{\"seat\":\"%s\",\"participant\":%u,\"password\":\"%s\","
        "\"cancel_on_disconnect\":%s,\"enabled\":%s,\"provider\":\"%s\"%s}\n",
        json::escape(s.sender_comp_id()).c_str(), s.participant(), state,
        s.cancel_on_disconnect() ? "true" : "false", s.enabled() ? "true" : "false",
        json::escape(s.provider()).c_str(),
        password.empty() ? "" : (",\"new_password\":\"" + password + "\"").c_str());
    return;
  }
  std::printf("%-20s %-12u %-12s %-20s %-8s %s\n", s.sender_comp_id().c_str(), s.participant(),
              state, s.cancel_on_disconnect() ? "yes" : "no", s.enabled() ? "yes" : "no",
              s.provider().empty() ? "-" : s.provider().c_str());
}

int seats(int argc, char** argv) {
  Frame request;
  request.mutable_list_seats();
  return list("seats", argc, argv, request, Frame::kSeatList, [](const Frame& f, bool json) {
    if (!json) print_seat_heading();
    for (const auto& s : f.seat_list().seats())
      print_seat(s, json);
  });
}

// seat-create, seat-password, seat-disable, seat-enable SENDER.
int change_seat(const std::string& verb, int argc, char** argv) {
  Connection where;
  Frame request;
  auto& change = *request.mutable_change_seat();
  change.set_create(verb == "seat-create");
  change.set_new_password(verb == "seat-password");
  if (verb == "seat-disable" || verb == "seat-enable") change.set_enabled(verb == "seat-enable");
  bench::Arguments args(argc + 1, argv - 1, usage);
  while (args.next()) {
    if (where.take(args)) continue;
    if (change.create() && args.is("--participant")) {
      change.set_participant(u32(args, "--participant"));
    } else if (change.create() && args.is("--no-password")) {
      change.set_no_password(true);
    } else if (args.is("--cancel-on-disconnect")) {
      const std::string value = args.value();
      if (value != "yes" && value != "no") {
        std::fprintf(stderr, "gpux admin %s: --cancel-on-disconnect takes yes or no, not '%s'\n",
                     verb.c_str(), value.c_str());
        return 2;
      }
      change.set_cancel_on_disconnect(value == "yes");
    } else if (change.sender_comp_id().empty() && !args.current().empty() &&
               args.current()[0] != '-') {
      change.set_sender_comp_id(args.current());
    } else {
      args.unknown();
    }
  }
  if (change.sender_comp_id().empty()) {
    std::fprintf(stderr, "gpux admin %s: name the seat (its SenderCompID)\n", verb.c_str());
    return 2;
  }
  if (change.create() && change.participant() == 0) {
    std::fprintf(stderr, "gpux admin seat-create: --participant N is required\n");
    return 2;
  }
  return with_session(verb.c_str(), where, [&](cli::ProviderSession& session) {
    const auto changed = session.call(request, Frame::kSeatChanged).seat_changed();
    if (where.json) return print_seat(changed.seat(), true, changed.password());
    std::printf("seat set at sequence %llu:\n",
                static_cast<unsigned long long>(changed.sequence()));
    print_seat_heading();
    print_seat(changed.seat(), false);
    if (!changed.password().empty())
      std::printf(
          "password: %s\n(shown once: give it to the seat's owner, the exchange keeps "
          "only its hash)\n",
          changed.password().c_str());
  });
}

// The instruments of an InstrumentList, as a table or JSON lines.
void print_instruments(const Frame& f, bool json) {
  if (!json)
    std::printf("%-6s %-36s %-12s %-10s %-14s %s\n", "id", "symbol", "class", "region", "state",
                "delivery (UTC)");
  for (const auto& i : f.instrument_list().instruments()) {
    char hour[32] = "";
    const std::time_t start = static_cast<std::time_t>(i.delivery_start());
    std::tm utc{};
    if (gmtime_r(&start, &utc) != nullptr) std::strftime(hour, sizeof hour, "%Y-%m-%d %H:%M", &utc);
    if (json)
      std::printf(
          "{\"id\":%u,\"symbol\":\"%s\",\"class\":\"%s\",\"region\":\"%s\","
          "\"state\":\"%s\",\"halted\":%s,\"delivery_start\":%lld,\"delivery_end\":%lld}"
          "\n",
          i.id(), json::escape(i.symbol()).c_str(), json::escape(i.gpu_class()).c_str(),
          json::escape(i.region()).c_str(), json::escape(i.state()).c_str(),
          i.halted() ? "true" : "false", static_cast<long long>(i.delivery_start()),
          static_cast<long long>(i.delivery_end()));
    else
      std::printf("%-6u %-36s %-12s %-10s %-14s %s, %llds\n", i.id(), i.symbol().c_str(),
                  i.gpu_class().c_str(), i.region().c_str(),
                  (i.state() + (i.halted() ? " (halted)" : "")).c_str(), hour,
                  static_cast<long long>(i.delivery_end() - i.delivery_start()));
  }
}

int instruments(int argc, char** argv) {
  Frame request;
  request.mutable_list_instruments();
  return list("instruments", argc, argv, request, Frame::kInstrumentList, print_instruments);
}

// halt or resume INSTRUMENT (an id or a symbol).
int halt(const char* command, bool halted, int argc, char** argv) {
  Connection where;
  Frame request;
  request.mutable_halt_request()->set_halted(halted);
  bench::Arguments args(argc + 1, argv - 1, usage);
  while (args.next()) {
    if (where.take(args)) continue;
    if (request.halt_request().instrument().empty() && !args.current().empty() &&
        args.current()[0] != '-') {
      request.mutable_halt_request()->set_instrument(args.current());
      continue;
    }
    args.unknown();
  }
  if (request.halt_request().instrument().empty()) {
    std::fprintf(stderr, "gpux admin %s: name the instrument (its id or symbol)\n", command);
    return 2;
  }
  return with_session(command, where, [&](cli::ProviderSession& session) {
    print_instruments(session.call(request, Frame::kInstrumentList), where.json);
  });
}

// A whole number that may be negative (a price), exit 2 when it is not one.
std::int64_t price(bench::Arguments& args) {
  const std::string text = args.value();
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  std::fprintf(stderr, "gpux admin product-terms: %s takes micro-USD, a whole number, not '%s'\n",
               args.current().c_str(), text.c_str());
  std::exit(2);
}

int product_terms(int argc, char** argv) {
  Connection where;
  Frame request;
  auto& change = *request.mutable_product_terms_request();
  bench::Arguments args(argc + 1, argv - 1, usage);
  while (args.next()) {
    if (where.take(args)) continue;
    if (args.is("--maker-fee-ppm")) {
      change.set_maker_fee_ppm(u32(args, "--maker-fee-ppm"));
    } else if (args.is("--taker-fee-ppm")) {
      change.set_taker_fee_ppm(u32(args, "--taker-fee-ppm"));
    } else if (args.is("--reference-price")) {
      change.set_reference_price(price(args));
    } else if (args.is("--band-width")) {
      change.set_band_width(price(args));
    } else if (args.is("--verification-profile")) {
      change.set_verification_profile(args.value());
    } else if (args.is("--from-sequence")) {
      change.set_effective_from(args.count(0));
    } else if (!args.current().empty() && args.current()[0] != '-' && change.region().empty()) {
      (change.gpu_class().empty() ? change.mutable_gpu_class() : change.mutable_region())
          ->assign(args.current());
    } else {
      args.unknown();
    }
  }
  const bool changing = change.has_maker_fee_ppm() || change.has_taker_fee_ppm() ||
                        change.has_reference_price() || change.has_band_width() ||
                        change.has_verification_profile();
  if (changing && change.region().empty()) {
    std::fprintf(stderr, "gpux admin product-terms: name the product: CLASS REGION\n");
    return 2;
  }
  return with_session("product-terms", where, [&](cli::ProviderSession& session) {
    const auto list = session.call(request, Frame::kProductTermsList).product_terms_list();
    if (!where.json && list.sequence() != 0)
      std::printf("set at sequence %llu\n", static_cast<unsigned long long>(list.sequence()));
    if (!where.json)
      std::printf("%-12s %-10s %-10s %-10s %-12s %-10s %-12s %s\n", "class", "region", "maker ppm",
                  "taker ppm", "reference", "band", "profile", "from");
    for (const auto& p : list.products()) {
      if (where.json) {
        std::printf(
            "{\"class\":\"%s\",\"region\":\"%s\",\"maker_fee_ppm\":%u,"
            "\"taker_fee_ppm\":%u,\"reference_price\":%lld,\"band_width\":%lld,"
            "\"verification_profile\":\"%s\",\"effective_from\":%llu,\"in_effect\":%s,"
            "\"set_at_sequence\":%llu}\n",
            json::escape(p.gpu_class()).c_str(), json::escape(p.region()).c_str(),
            p.maker_fee_ppm(), p.taker_fee_ppm(), static_cast<long long>(p.reference_price()),
            static_cast<long long>(p.band_width()), json::escape(p.verification_profile()).c_str(),
            static_cast<unsigned long long>(p.effective_from()), p.in_effect() ? "true" : "false",
            static_cast<unsigned long long>(list.sequence()));
        continue;
      }
      const std::string from = p.in_effect() ? std::string("in effect")
                                             : "sequence " + std::to_string(p.effective_from());
      std::printf("%-12s %-10s %-10u %-10u %-12lld %-10lld %-12s %s\n", p.gpu_class().c_str(),
                  p.region().c_str(), p.maker_fee_ppm(), p.taker_fee_ppm(),
                  static_cast<long long>(p.reference_price()),
                  static_cast<long long>(p.band_width()),
                  p.verification_profile().empty() ? "(class)" : p.verification_profile().c_str(),
                  from.c_str());
    }
  });
}

int terms(int argc, char** argv) {
  Connection where;
  Frame request;
  auto& change = *request.mutable_market_terms_request();
  bench::Arguments args(argc + 1, argv - 1, usage);
  while (args.next()) {
    if (where.take(args)) continue;
    if (args.is("--buyer-fee-ppm")) {
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
  return with_session("terms", where, [&](cli::ProviderSession& session) {
    const auto t = session.call(request, Frame::kMarketTerms).market_terms();
    if (where.json) {
      std::printf(
          "{\"buyer_fee_ppm\":%u,\"challenges_per_obligation\":%u,\"penalty_ppm\":%u,"
          "\"challenge_seed\":%llu,\"set_at_sequence\":%llu}\n",
          t.buyer_fee_ppm(), t.challenges_per_obligation(), t.penalty_ppm(),
          static_cast<unsigned long long>(t.challenge_seed()),
          static_cast<unsigned long long>(t.sequence()));
      return;
    }
    const std::string heading = t.sequence() == 0
                                    ? std::string("terms in effect:")
                                    : "terms set at sequence " + std::to_string(t.sequence()) + ":";
    std::printf(
        "%s buyer_fee_ppm=%u challenges_per_obligation=%u penalty_ppm=%u "
        "challenge_seed=%llu\n",
        heading.c_str(), t.buyer_fee_ppm(), t.challenges_per_obligation(), t.penalty_ppm(),
        static_cast<unsigned long long>(t.challenge_seed()));
  });
}

}  // namespace

int gpux_admin(int argc, char** argv) {
  if (argc >= 1 && std::string(argv[0]) == "terms") return terms(argc - 1, argv + 1);
  if (argc >= 1 && std::string(argv[0]) == "providers") return providers(argc - 1, argv + 1);
  if (argc >= 1 && std::string(argv[0]) == "seats") return seats(argc - 1, argv + 1);
  if (argc >= 1 && std::string(argv[0]) == "instruments") return instruments(argc - 1, argv + 1);
  if (argc >= 1 && std::string(argv[0]) == "product-terms")
    return product_terms(argc - 1, argv + 1);
  for (const char* verb : {"seat-create", "seat-password", "seat-disable", "seat-enable"})
    if (argc >= 1 && std::string(argv[0]) == verb) return change_seat(verb, argc - 1, argv + 1);
  if (argc >= 1 && std::string(argv[0]) == "halt") return halt("halt", true, argc - 1, argv + 1);
  if (argc >= 1 && std::string(argv[0]) == "resume")
    return halt("resume", false, argc - 1, argv + 1);
  if (argc >= 1 && (std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h")) {
    usage(nullptr);
    return 0;
  }
  usage(nullptr);
  return 2;
}
