#include "cli/status_cmd.h"

#include <iostream>

#include "bus/bus_client.h"
#include "cli/status_collect.h"
#include "cli/status_text.h"
#include "compile/compiler.h"
#include "nft/netlink_backend.h"
#include "policy/policy.h"
#include "state/state_store.h"

namespace ipo::cli {
namespace {

// Connects for a method call; prints the error and exits 1 when the agent is unreachable.
bus::AgentClient ConnectOrExit(const std::string& run_dir) {
  auto client = bus::AgentClient::Connect(run_dir + "/bus.sock");
  if (!client.ok()) {
    std::cerr << "error: " << client.status().message() << "\n";
    throw CLI::RuntimeError(1);
  }
  return std::move(*client);
}

}  // namespace

void RegisterStatusCommands(CLI::App& app) {
  auto paths = std::make_shared<StatusPaths>();
  auto json_out = std::make_shared<bool>(false);
  auto add_paths = [paths](CLI::App* cmd) {
    cmd->add_option("--policy", paths->policy, "policy file")->capture_default_str();
    cmd->add_option("--run-dir", paths->run_dir, "the agent's runtime directory")->capture_default_str();
    cmd->add_option("--state-dir", paths->state_dir, "the agent's state directory")->capture_default_str();
  };

  CLI::App* show = app.add_subcommand("status", "show what the agent enforces and whether the kernel matches it");
  add_paths(show);
  show->add_flag("--json", *json_out, "print the status document as JSON (it always has the counters)");
  auto counters = std::make_shared<bool>(false);
  show->add_flag("--counters", *counters, "also print every rule's packet and byte counters, read from the kernel");
  show->callback([paths, json_out, counters] {
    int code = 0;
    status::StatusReport s = CollectStatus(*paths, code);
    if (*json_out) std::cout << status::ToJson(s).dump(2) << "\n";
    else std::cout << FormatStatus(s, *counters);
    if (code != 0) throw CLI::RuntimeError(code);
  });

  auto kernel = std::make_shared<bool>(false);
  CLI::App* check = app.add_subcommand("check", "validate a policy and print the ruleset it compiles to");
  add_paths(check);
  check->add_flag("--kernel", *kernel, "also let the kernel validate the ruleset (nothing is applied)");
  check->callback([paths, kernel] {
    auto policy = policy::LoadPolicy(paths->policy);
    if (!policy.ok()) {
      std::cerr << "error: " << policy.status().message() << "\n";
      throw CLI::RuntimeError(2);
    }
    state::StateStore store(paths->state_dir);
    auto saved = store.Load();
    nft::Ruleset rs = compile::Compile(*policy, saved.ok() ? saved->observed : model::Observed{});
    std::cout << rs.ToString();
    if (*kernel) {
      auto nl = nft::NetlinkBackend::Create();
      Status st = nl.ok() ? (*nl)->ReplaceTables(rs, /*check_only=*/true) : nl.status();
      if (!st.ok()) {
        std::cerr << "error: the kernel refuses the ruleset: " << st.message() << "\n";
        throw CLI::RuntimeError(1);
      }
      std::cerr << "the kernel accepts the ruleset (nothing was applied)\n";
    }
  });

  CLI::App* resync = app.add_subcommand("resync", "ask the agent for a full sync with Docker and the kernel now");
  add_paths(resync);
  resync->callback([paths] {
    Status st = ConnectOrExit(paths->run_dir).Resync();
    if (!st.ok()) {
      std::cerr << "error: " << st.message() << "\n";
      throw CLI::RuntimeError(1);
    }
  });

  CLI::App* reload = app.add_subcommand(
      "reload", "ask the agent to re-read its policy file: a bad one is refused (exit 2), the old rules stay");
  reload->add_option("--run-dir", paths->run_dir, "the agent's runtime directory")->capture_default_str();
  reload->callback([paths] {
    bus::AgentClient client = ConnectOrExit(paths->run_dir);
    Status st = client.Reload();
    if (st.code() == Status::Code::kInvalidArgument) {
      std::cerr << "error: the agent refused the policy, the rules in force stay: " << st.message() << "\n";
      throw CLI::RuntimeError(2);
    }
    if (!st.ok()) {
      std::cerr << "error: " << st.message() << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cout << "policy accepted by the agent (" << client.where() << "); the reconcile loop applies it\n";
  });
}

}  // namespace ipo::cli
