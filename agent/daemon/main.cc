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
#include <ctime>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <set>
#include <thread>

#include "bus/bus.h"
#include "conntrack/netlink_flusher.h"
#include "daemon/event_pump.h"
#include "daemon/reconciler.h"
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
  std::string log_level = "info";
  std::string claim_tables = "auto";
  bool no_monitor = false;
  bool check = false;
};

// Follows the kernel's nftables notifications and queues a kTamper item for every change to
// an owned table that another netlink socket made (or when notifications were lost).
void MonitorLoop(ipo::nft::NftMonitor& monitor, uint32_t own_portid, ipo::daemon::WorkQueue& queue,
                 const std::atomic<bool>& stopping) {
  std::set<std::pair<uint8_t, std::string>> owned;
  for (const auto& [family, name] : ipo::compile::OwnedTables()) owned.emplace(static_cast<uint8_t>(family), name);
  while (!stopping) {
    auto changes = monitor.Poll(200ms);
    if (!changes.ok()) {
      spdlog::error("nftables monitor: {}; relying on the periodic drift check", changes.status().message());
      queue.Push({WorkItem::Kind::kMonitorLost, {}, changes.status().message()});
      return;
    }
    for (const auto& c : *changes) {
      if (!c.overrun && (c.portid == own_portid || owned.count({c.family, c.table}) == 0)) continue;
      spdlog::warn("foreign change to the agent's tables: {}", c.ToString());
      queue.Push({WorkItem::Kind::kTamper, {}, c.ToString(), std::chrono::steady_clock::now()});
    }
  }
}

// Whether to claim the tables, and the status text saying so.
std::pair<bool, std::string> ClaimDecision(const std::string& mode) {
  if (mode == "off") return {false, "off (--claim-tables off)"};
  bool can = ipo::nft::NetlinkBackend::KernelCanClaim();
  if (mode == "on" || can) return {true, "owner+persist"};
  return {false, "off (the kernel lacks persistent owned tables, Linux 6.9; repair by notification instead)"};
}

int64_t NowNano() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
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
  // D-Bus API (docs/dbus.md): org.ipo.NetD1 on the system bus when there is one, and the
  // same object on <run-dir>/bus.sock. Reload validates here and queues the swap.
  auto bus = ipo::bus::BusServer::Listen(
      {.socket_path = opt.run_dir + "/bus.sock"},
      {.status = [&] { return reconciler.StatusJson().dump(); },
       .reload = [&]() -> ipo::Status {
         auto fresh = ipo::policy::LoadPolicy(opt.policy);
         if (!fresh.ok()) return ipo::Status::InvalidArgument(fresh.status().message());
         queue.Push({WorkItem::Kind::kReload, {}, ""});
         return ipo::Status::Ok();
       },
       .resync = [&] { queue.Push({WorkItem::Kind::kResync, {}, ""}); }});
  if (!bus.ok()) {
    spdlog::error("control socket: {}", bus.status().message());
    return 1;
  }
  auto publish_bus_state = [&] {
    nlohmann::json s = reconciler.StatusJson();
    (*bus)->NotifyState(s.value("generation", uint64_t{0}), s.value("agent_drift", std::vector<std::string>{}));
  };
  publish_bus_state();
  reconciler.SetDriftObserver([&](const std::vector<std::string>& found) { (*bus)->NotifyDrift(found); });
  std::thread bus_thread([&] { (*bus)->Run([&] { return stopping.load(); }); });
  ipo::daemon::EventPump pump(**docker, queue, reconciler.last_event_nano());
  std::thread pump_thread([&] { pump.Run(); });
  std::thread signal_thread([&] { SignalLoop(signals, queue); });
  std::thread monitor_thread;
  if (monitor) monitor_thread = std::thread([&] { MonitorLoop(*monitor, (*nft)->portid(), queue, stopping); });
  bool ready = false;
  // A failed sync (Docker went away mid-way) is retried with backoff until one succeeds,
  // not left until the next event.
  auto retry_at = std::chrono::steady_clock::time_point::max();
  auto retry_backoff = 500ms;

  uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  auto next_drift_check = std::chrono::steady_clock::now() + std::chrono::seconds(opt.drift_interval_s);
  bool running = true;
  while (running) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(std::min(next_drift_check, retry_at) -
                                                                      std::chrono::steady_clock::now());
    auto item = queue.Pop(std::max(wait, 0ms));
    bool sync = false;
    std::string reason;
    std::string tamper;  // the first foreign change of this batch
    auto tamper_noticed = std::chrono::steady_clock::time_point{};
    int64_t first_event_nano = 0;  // the oldest event of this batch
    int64_t last_event_nano = 0;   // the event named in `reason`
    while (item) {
      switch (item->kind) {
        case WorkItem::Kind::kEvent:
          reconciler.NoteEvent(item->event);
          if (ipo::daemon::Relevant(item->event)) {
            sync = true;
            if (!first_event_nano) first_event_nano = item->event.time_nano;
            last_event_nano = item->event.time_nano;
            reason = "event " + item->event.action + " " + ipo::daemon::EventSubject(item->event);
          }
          break;
        case WorkItem::Kind::kConnected:
          reconciler.SetDocker(true, "connected, API " + item->detail);
          sync = true;
          reason = "docker connected";
          break;
        case WorkItem::Kind::kDisconnected:
          reconciler.SetDocker(false, item->detail);
          break;
        case WorkItem::Kind::kResync:
          sync = true;
          reason = "resync requested";
          break;
        case WorkItem::Kind::kReload: {
          auto fresh = ipo::policy::LoadPolicy(opt.policy);
          if (!fresh.ok()) {
            spdlog::error("policy reload refused, keeping the policy in force: {}", fresh.status().message());
            reconciler.NoteReloadRefused(fresh.status().message());
          } else {
            ipo::Status st = reconciler.ReplacePolicy(*fresh);
            if (!st.ok()) spdlog::error("policy reload: {}", st.message());
          }
          break;
        }
        case WorkItem::Kind::kTamper:
          reconciler.NoteTampering();
          if (tamper.empty()) {
            tamper = item->detail;
            tamper_noticed = item->at;
          }
          break;
        case WorkItem::Kind::kMonitorLost:
          reconciler.NoteMonitorLost(item->detail);
          break;
        case WorkItem::Kind::kStop:
          running = false;
          break;
      }
      item = queue.TryPop();  // coalesce everything already queued into one sync
    }
    if (!running) break;
    if (!tamper.empty()) {
      auto drift = reconciler.CheckDrift(/*repair=*/true, tamper, tamper_noticed);
      if (!drift.ok()) spdlog::error("repairing after a foreign change: {}", drift.status().message());
    }
    if (!sync && std::chrono::steady_clock::now() >= retry_at) {
      sync = true;
      reason = "retry after a failed sync";
    }
    if (sync) {
      ipo::Status st = reconciler.Sync(reason);
      if (st.ok()) {
        retry_at = std::chrono::steady_clock::time_point::max();
        retry_backoff = 500ms;
      } else {
        retry_at = std::chrono::steady_clock::now() + retry_backoff;
        retry_backoff = std::min(retry_backoff * 2, std::chrono::milliseconds(5000));
      }
      if (st.ok() && !ready) {
        ready = true;
        sd_notify(0, "READY=1\nSTATUS=in sync with Docker; ruleset in force");
      }
      if (st.ok() && first_event_nano) {
        int64_t now = NowNano();
        spdlog::info("event-to-ruleset latency {:.2f} ms ({}; oldest event of the batch {:.2f} ms)",
                     double(now - last_event_nano) / 1e6, reason, double(now - first_event_nano) / 1e6);
      }
    }
    if (std::chrono::steady_clock::now() >= next_drift_check) {
      reconciler.RetrySave();
      // A host service that started or stopped on a container's -p port: decide again.
      if (reconciler.HostSocketsChanged()) {
        ipo::Status st = reconciler.Sync("host sockets on a -p port changed");
        if (!st.ok()) spdlog::warn("sync after a host socket change: {}", st.message());
      }
      auto drift = reconciler.CheckDrift(/*repair=*/true);
      if (!drift.ok()) spdlog::warn("drift check: {}", drift.status().message());
      next_drift_check = std::chrono::steady_clock::now() + std::chrono::seconds(opt.drift_interval_s);
    }
    publish_bus_state();
    if (watchdog) sd_notify(0, "WATCHDOG=1");
  }
  spdlog::info("stopping; the ruleset stays in force");
  sd_notify(0, "STOPPING=1");
  stopping = true;
  pump.Stop();
  pump_thread.join();
  if (monitor_thread.joinable()) monitor_thread.join();
  bus_thread.join();
  signal_thread.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"ipo-netd: keeps Docker containers isolated per the policy, with nftables"};
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
  app.add_flag("--check", opt.check,
               "validate the policy and let the kernel check the compiled ruleset without applying it; print it");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ ipo-netd: %v");
  spdlog::set_level(spdlog::level::from_str(opt.log_level));
  return Run(opt);
}
