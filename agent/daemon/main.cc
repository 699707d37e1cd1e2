// ipo-netd: the host agent. Keeps the policy's containers on their networks and the
// nftables ruleset that isolates them in force, following Docker's events.
//
// Start-up: validate the policy (an invalid one is refused: exit 2, nothing touched),
// restore the last applied ruleset from the state directory (claiming the tables with the
// owner+persist flags where the kernel has them), then follow Docker; systemd hears READY=1
// after the first full sync with Docker. Stopping leaves the ruleset in force: the firewall
// does not depend on the agent running.
//
// Self-healing: a monitor thread follows the kernel's nftables notifications; a change to
// the agent's tables made by anyone else is repaired at once (read back, re-applied in one
// batch, read back again) and counted. A periodic drift check backs it up.
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <thread>

#include "bus/bus_server.h"
#include "common/release_memory.h"
#include "metrics/metrics_text.h"
#include "metrics/textfile.h"
#include "conntrack/netlink_flusher.h"
#include "daemon/event_pump.h"
#include "daemon/reconcile_loop.h"
#include "daemon/reconciler.h"
#include "daemon/tamper_watch.h"
#include "droplog/drop_watch.h"
#include "common/json_limits.h"
#include "status/status_doc.h"
#include "hostsock/sock_diag.h"
#include "docker/disk_ports.h"
#include "docker/docker_client.h"
#include "nft/netlink_backend.h"
#include "nft/nft_monitor.h"
#include "restore/boot_restore.h"

namespace {

using namespace std::chrono_literals;
using ipo::daemon::WorkItem;

struct Options {
  std::string policy = "/etc/ipo-netd/policy.json";
  std::string docker_host = "unix:///run/docker.sock";
  std::string state_dir = "/var/lib/ipo-netd";
  std::string run_dir = "/run/ipo-netd";
  std::string docker_root;  // "" = data-root of /etc/docker/daemon.json, else /var/lib/docker
  int drift_interval_s = 10;
  int resync_interval_s = 300;
  bool full_sync_per_event = false;
  std::string log_level = "info";
  std::string claim_tables = "auto";
  bool no_monitor = false;
  bool check = false;
  std::string metrics_file;  // "" = none
};

// Whether to claim the tables, and the status text saying so.
std::pair<bool, std::string> ClaimDecision(const std::string& mode) {
  if (mode == "off") return {false, "off (--claim-tables off)"};
  bool can = ipo::nft::NetlinkBackend::KernelCanClaim();
  if (mode == "on" || can) return {true, "owner+persist"};
  return {false, "off (the kernel lacks persistent owned tables, Linux 6.9; repair by notification instead)"};
}

// Waits for SIGTERM/SIGINT (stop) and SIGHUP (reload policy) and queues them.
void SignalLoop(const sigset_t& set, ipo::daemon::WorkQueue& queue) {
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      queue.Push({WorkItem::Kind::kReload, {}, ""});
      continue;
    }
    queue.Push({WorkItem::Kind::kStop, {}, ""});
    return;
  }
}

int Run(const Options& opt) {
  auto policy = ipo::policy::LoadPolicy(opt.policy);
  if (!policy.ok()) {
    spdlog::error("refusing to start: {}", policy.status().message());
    return 2;
  }
  auto [claim, claim_text] = ClaimDecision(opt.claim_tables);
  auto nft = ipo::nft::NetlinkBackend::Create(claim && !opt.check);
  if (!nft.ok()) {
    spdlog::error("netlink: {}", nft.status().message());
    return 1;
  }
  ipo::state::StateStore store(opt.state_dir);
  if (opt.check) {
    auto saved = store.Load();
    ipo::model::Observed observed = saved.ok() ? saved->observed : ipo::model::Observed{};
    ipo::nft::Ruleset rs = ipo::compile::Compile(*policy, observed);
    ipo::Status st = (*nft)->ReplaceTables(rs, /*check_only=*/true);
    std::fputs(rs.ToString().c_str(), stdout);
    if (!st.ok()) {
      spdlog::error("the kernel refuses the ruleset: {}", st.message());
      return 1;
    }
    spdlog::info("check: the kernel accepts the ruleset (nothing was changed)");
    return 0;
  }
  auto docker = ipo::docker::DockerClient::Create(opt.docker_host, 5s);
  if (!docker.ok()) {
    spdlog::error("{}", docker.status().message());
    return 2;
  }
  ::mkdir(opt.run_dir.c_str(), 0700);

  // Signals are handled by one thread; block them everywhere else.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Conntrack follows the ruleset (daemon/reconciler.h): without the flusher the agent still
  // runs, and status says why flows to a lost target are not removed.
  auto flusher = ipo::conntrack::NetlinkFlusher::Open();
  if (!flusher.ok()) spdlog::error("conntrack: {}; established flows will outlive their target", flusher.status().message());
  ipo::daemon::Reconciler reconciler(*policy, **docker, **nft, store, flusher.ok() ? flusher->get() : nullptr);
  if (!flusher.ok()) reconciler.SetConntrackOff(flusher.status().message());
  auto boot = ipo::restore::ReadRecord(opt.run_dir);
  reconciler.SetBootRestore(boot.ok() ? *boot
                                      : nlohmann::json{{"result", "none"}, {"detail", boot.status().message()}});
  std::unique_ptr<ipo::nft::NftMonitor> monitor;
  if (!opt.no_monitor) {
    auto m = ipo::nft::NftMonitor::Open();
    if (m.ok()) {
      monitor = std::move(*m);
    } else {
      spdlog::warn("nftables notifications unavailable ({}); relying on the periodic drift check",
                   m.status().message());
    }
  }
  reconciler.SetProtection(claim_text, monitor != nullptr);
  spdlog::info("tables: claim {}; repair on notification {}", claim_text, monitor ? "on" : "off");
  // The ports Docker's containers publish, from Docker's files: guarded from this first apply
  // on, before Docker has been asked (as the boot restore does; restore/boot_restore.h).
  std::vector<std::string> disk_problems;
  const std::string docker_root =
      opt.docker_root.empty() ? ipo::docker::DockerDataRoot("/etc/docker/daemon.json") : opt.docker_root;
  auto disk_ports = ipo::restore::DockerPorts(docker_root, &disk_problems);
  for (const auto& p : disk_problems) spdlog::warn("docker root: {}", p);
  reconciler.SetHostSocketSource(&ipo::hostsock::ListHostSockets);
  ipo::Status restored = reconciler.Restore(disk_ports);
  if (!restored.ok()) spdlog::error("restoring the saved ruleset failed: {}", restored.message());
  sd_notify(0, "STATUS=ruleset restored; waiting for the first sync with Docker");

  ipo::daemon::WorkQueue queue;
  std::atomic<bool> stopping{false};
  // The drop log (docs/observability.md): the packets the drop rules' log twins send to the
  // policy's nflog group, attributed and kept for `ipo-netctl drops`, and journaled.
  ipo::droplog::DropRing drop_ring(4096);
  ipo::droplog::DropWatch drop_watch(
      drop_ring, {.journal = &ipo::droplog::JournalDrop, .journal_note = &ipo::droplog::JournalNoteText});
  // D-Bus API (docs/dbus.md): org.ipo.NetD1 on the system bus when there is one, and the
  // same object on <run-dir>/bus.sock. Reload validates here and queues the swap.
  auto bus = ipo::bus::BusServer::Listen(
      {.socket_path = opt.run_dir + "/bus.sock"},
      {.status =
           [&] {
             std::string text = reconciler.StatusJson().dump();
             ipo::ReleaseFreedMemory();  // the document of a host with a thousand containers is megabytes as a tree
             return text;
           },
       .reload = [&]() -> ipo::Status {
         auto fresh = ipo::policy::LoadPolicy(opt.policy);
         if (!fresh.ok()) return ipo::Status::InvalidArgument(fresh.status().message());
         queue.Push({WorkItem::Kind::kReload, {}, ""});
         return ipo::Status::Ok();
       },
       .resync = [&] { queue.Push({WorkItem::Kind::kResync, {}, ""}); },
       .drops = [&](uint64_t after) { return drop_watch.Page(after, 4096).dump(); }});
  if (!bus.ok()) {
    spdlog::error("control socket: {}", bus.status().message());
    return 1;
  }
  // The metrics textfile: rewritten after every turn whose metrics differ from the file's
  // (a few KB; a turn costs milliseconds, the write tens of microseconds), so it is never
  // older than the agent's last turn.
  std::string metrics_written;
  std::string metrics_error;
  std::shared_ptr<const ipo::droplog::DropIndex> drop_index;
  auto publish_bus_state = [&] {
    ipo::status::AgentStatus s = reconciler.StatusDoc();
    // New log rules (a new policy, say): a new index, with the policy file's lines as they are
    // now. A turn that changed only set elements leaves it as it is.
    if (reconciler.applied() && (!drop_index || !drop_index->Describes(*reconciler.applied()))) {
      std::string policy_text;
      if (!ipo::ReadBounded(opt.policy, ipo::policy::kPolicyLimits, policy_text)) policy_text.clear();
      drop_index = std::make_shared<const ipo::droplog::DropIndex>(
          ipo::droplog::DropIndex::Build(*reconciler.applied(), opt.policy, policy_text));
      drop_watch.SetIndex(drop_index);
    }
    (*bus)->NotifyState(s.generation, s.agent_drift);
    if (opt.metrics_file.empty()) return;
    std::string text = ipo::metrics::MetricsText(s);
    if (text == metrics_written && metrics_error.empty()) return;
    ipo::Status written = ipo::metrics::WriteTextfile(opt.metrics_file, text);
    if (written.ok()) metrics_written = std::move(text);
    if (!written.ok() && written.message() != metrics_error) spdlog::warn("metrics file: {}", written.message());
    if (written.ok() && !metrics_error.empty()) spdlog::info("metrics file {} written again", opt.metrics_file);
    metrics_error = written.ok() ? "" : written.message();
  };
  publish_bus_state();
  reconciler.SetDriftObserver([&](const std::vector<std::string>& found) { (*bus)->NotifyDrift(found); });
  std::thread bus_thread([&] { (*bus)->Run([&] { return stopping.load(); }); });
  ipo::daemon::EventPump pump(**docker, queue, reconciler.last_event_nano());
  std::thread pump_thread([&] { pump.Run(); });
  std::thread signal_thread([&] { SignalLoop(signals, queue); });
  std::thread drop_thread([&] { drop_watch.Run(stopping); });
  std::thread monitor_thread;
  if (monitor) {
    monitor_thread = std::thread([&] {
      ipo::daemon::WatchTables([&](std::chrono::milliseconds t) { return monitor->Poll(t); }, (*nft)->portid(), queue,
                               stopping);
    });
  }
  uint64_t watchdog_usec = 0;
  ipo::daemon::ReconcileLoop loop(
      reconciler, queue,
      {.drift_interval = std::chrono::seconds(opt.drift_interval_s),
       .resync_interval = std::chrono::seconds(opt.resync_interval_s),
       .full_sync_per_event = opt.full_sync_per_event,
       .load_policy = [&] { return ipo::policy::LoadPolicy(opt.policy); },
       .notify = [](const std::string& state) { sd_notify(0, state.c_str()); },
       .watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0,
       .after_turn = publish_bus_state});
  loop.Run();
  stopping = true;
  pump.Stop();
  pump_thread.join();
  if (monitor_thread.joinable()) monitor_thread.join();
  bus_thread.join();
  signal_thread.join();
  drop_thread.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"ipo-netd: keeps Docker containers isolated per the policy, with nftables", "ipo-netd"};
  app.set_version_flag("--version", "ipo-netd " IPO_VERSION);
  app.add_option("--policy", opt.policy, "policy file")->capture_default_str();
  app.add_option("--docker-host", opt.docker_host, "Docker Engine API socket (unix://PATH)")->capture_default_str();
  app.add_option("--state-dir", opt.state_dir, "where the applied state is kept")->capture_default_str();
  app.add_option("--run-dir", opt.run_dir, "runtime directory (control socket)")->capture_default_str();
  app.add_option("--docker-root", opt.docker_root,
                 "Docker's data root, whose containers' -p ports are guarded at start before Docker answers "
                 "(default: data-root of /etc/docker/daemon.json, else /var/lib/docker)");
  app.add_option("--drift-interval", opt.drift_interval_s, "seconds between drift checks")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--resync-interval", opt.resync_interval_s,
                 "seconds between full re-lists of the host (events keep it current in between; a reconnect "
                 "or a failed look-up re-lists at once)")
      ->capture_default_str()
      ->check(CLI::Range(10, 86400));
  app.add_flag("--full-sync-per-event", opt.full_sync_per_event,
               "re-list the whole host for every batch of Docker events instead of looking up what they name "
               "(the behaviour before the incremental model; for comparison and diagnosis)");
  app.add_option("--log-level", opt.log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--claim-tables", opt.claim_tables,
                 "own the tables (nft owner+persist flags: `nft flush ruleset` cannot remove them); auto = when "
                 "the kernel has persistent owned tables (Linux 6.9)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "on", "off"}));
  app.add_flag("--no-monitor", opt.no_monitor,
               "do not follow nftables notifications; repair only at the periodic drift check");
  app.add_option("--metrics-file", opt.metrics_file,
                 "write Prometheus metrics to this file, replaced atomically after every change (for "
                 "node_exporter's textfile collector, e.g. /var/lib/prometheus/node-exporter/ipo_netd.prom)");
  app.add_flag("--check", opt.check,
               "validate the policy and let the kernel check the compiled ruleset without applying it; print it");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ ipo-netd: %v");
  spdlog::set_level(spdlog::level::from_str(opt.log_level));
  return Run(opt);
}
