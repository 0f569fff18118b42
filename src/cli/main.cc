// The client-only `cairn` binary of an SDK-only build (CAIRN_SDK_ONLY). In the full build the
// server's main (src/server/main.cc) provides `cairn` with these same subcommands.

#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Cairn client: read, write and watch a Cairn cluster", "cairn"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cairn 0.1.0 (client)");
  int exit_code = 0;
  cairn::cli::register_client_commands(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
