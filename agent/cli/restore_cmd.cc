#include "cli/restore_cmd.h"

#include <iostream>
#include <memory>

#include "cli/status_collect.h"  // StatusPaths
#include "docker/disk_ports.h"
#include "nft/netlink_backend.h"
#include "restore/boot_restore.h"

namespace ipo::cli {

void RegisterRestoreCommand(CLI::App& app) {
  auto paths = std::make_shared<StatusPaths>();
  auto dry_run = std::make_shared<bool>(false);
  auto docker_root = std::make_shared<std::string>();
  auto daemon_json = std::make_shared<std::string>("/etc/docker/daemon.json");
  CLI::App* cmd = app.add_subcommand(
      "restore", "load the persisted ruleset (or a fail-closed baseline) at boot, without Docker or the network");
  cmd->add_option("--policy", paths->policy, "policy file")->capture_default_str();
  cmd->add_option("--state-dir", paths->state_dir, "the agent's state directory")->capture_default_str();
  cmd->add_option("--run-dir", paths->run_dir, "where boot-restore.json is written")->capture_default_str();
  cmd->add_option("--docker-root", *docker_root,
                  "Docker's data root, whose containers' -p ports are guarded from boot on (default: data-root "
                  "of --docker-config, else /var/lib/docker)");
  cmd->add_option("--docker-config", *daemon_json, "Docker's daemon.json, for its data-root")->capture_default_str();
  cmd->add_flag("--dry-run", *dry_run, "print what would be loaded and why; change nothing");
  cmd->callback([paths, dry_run, docker_root, daemon_json] {
    state::StateStore store(paths->state_dir);
    const std::string root = docker_root->empty() ? docker::DockerDataRoot(*daemon_json) : *docker_root;
    if (*dry_run) {
      std::vector<std::string> problems;
      std::vector<model::ProxyPort> ports = restore::DockerPorts(root, &problems);
      for (const std::string& p : problems) std::cerr << "warning: " << p << "\n";
      restore::Decision d = restore::DecideRestore(policy::LoadPolicy(paths->policy), store.Load(), store.path(), ports);
      std::cout << "# ipo-netctl restore --dry-run: would load the " << restore::OutcomeName(d.outcome)
                << " ruleset: " << d.detail << "\n"
                << d.ruleset.ToString();
      return;
    }
    auto nl = nft::NetlinkBackend::Create();
    if (!nl.ok()) {
      std::cerr << "error: netlink: " << nl.status().message() << "\n";
      throw CLI::RuntimeError(1);
    }
    nlohmann::json rec = restore::RunRestore({paths->policy, paths->state_dir, paths->run_dir, root}, **nl);
    const std::string result = rec["result"];
    if (result != restore::OutcomeName(restore::Outcome::kHeld)) {  // keep this boot's record then
      Status written = restore::WriteRecord(paths->run_dir, rec);
      if (!written.ok()) std::cerr << "warning: " << written.message() << "\n";
    }
    std::cerr << "ipo-netctl restore: " << result << ": " << rec["detail"].get<std::string>();
    if (!rec["error"].get<std::string>().empty()) std::cerr << " (" << rec["error"].get<std::string>() << ")";
    std::cerr << "\n";
    if (result == "failed") throw CLI::RuntimeError(1);
  });
}

}  // namespace ipo::cli
