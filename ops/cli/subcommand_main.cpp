// The entry point of one gpux subcommand's executable (gpux-trade, gpux-audit,
// ...): each is its own program, so that a subcommand links only what it uses
// (audit and report link neither QuickFIX nor libsodium). GPUX_SUBCOMMAND
// names the subcommand's function, which takes the arguments after its name.
int GPUX_SUBCOMMAND(int argc, char** argv);

int main(int argc, char** argv) {
  return GPUX_SUBCOMMAND(argc - 1, argv + 1);
}
