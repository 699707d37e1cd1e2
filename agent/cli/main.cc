// ipo-netctl: the operator's command line for ipo-netd (status, explain, drops, check, resync, restore) and the
// renderers of the kit (render nginx).
#include <CLI/CLI.hpp>

#include "cli/drops_cmd.h"
#include "cli/explain_cmd.h"
#include "cli/render_cmd.h"
#include "cli/restore_cmd.h"
#include "cli/status_cmd.h"

int main(int argc, char** argv) {
  CLI::App app{"ipo-netctl: inspect and drive the ipo-host agent", "ipo-netctl"};
  app.set_version_flag("--version", "ipo-netctl " IPO_VERSION);
  app.require_subcommand(1);
  ipo::cli::RegisterStatusCommands(app);
  ipo::cli::RegisterExplainCommand(app);
  ipo::cli::RegisterDropsCommand(app);
  ipo::cli::RegisterRestoreCommand(app);
  ipo::cli::RegisterRenderCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
