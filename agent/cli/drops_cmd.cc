#include "cli/drops_cmd.h"

#include <csignal>
#include <ctime>
#include <iostream>
#include <sstream>
#include <thread>

#include "bus/bus_client.h"
#include "cli/columns.h"
#include "droplog/drop_ring.h"

namespace ipo::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void OnStop(int) { g_stop = 1; }

// "2026-12-07T19:40:01.123Z"
std::string TimeText(int64_t unix_nanos) {
  time_t secs = static_cast<time_t>(unix_nanos / 1000000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03d", static_cast<int>((unix_nanos / 1000000) % 1000));
  return std::string(buf) + ms + "Z";
}

std::string Endpoint(const std::string& addr, uint16_t port) {
  if (addr.empty()) return "-";
  if (port == 0) return addr;
  return (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

[[noreturn]] void Fail(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  throw CLI::RuntimeError(1);
}

nlohmann::json Fetch(bus::AgentClient& client, uint64_t after) {
  auto text = client.DropsJson(after);
  if (!text.ok()) Fail(text.status().message());
  nlohmann::json page = nlohmann::json::parse(*text, nullptr, false);
  if (!page.is_object() || !page.contains("records") || !page["records"].is_array() || !page.contains("next") ||
      !page["next"].is_number_unsigned())
    Fail(client.where() + ": Drops: a malformed reply");
  for (const auto& r : page["records"]) {
    auto ok = droplog::DropRecordFromJson(r);
    if (!ok.ok()) Fail(client.where() + ": Drops: " + ok.status().message());
  }
  return page;
}

}  // namespace

std::string FormatDropsHeader(const nlohmann::json& page) {
  std::ostringstream o;
  if (page.value("group", nlohmann::json()).is_null()) {
    o << "drop log: off (the policy's drop_log is disabled, or no ruleset is applied yet)\n";
    return o.str();
  }
  o << "drop log: nflog group " << page["group"].get<int>() << ", "
    << (page.value("listening", false) ? "read by the agent" : "NOT read: " + page.value("error", std::string("?")))
    << "; " << page.value("logged_total", uint64_t{0}) << " logged since the agent started";
  if (page.value("overruns", uint64_t{0}) > 0) o << ", " << page["overruns"].get<uint64_t>() << " buffer overruns";
  if (page.value("missed", uint64_t{0}) > 0) o << ", " << page["missed"].get<uint64_t>() << " older ones overwritten";
  if (page.value("throttled_seconds", uint64_t{0}) > 0)
    o << ", " << page["throttled_seconds"].get<uint64_t>()
      << " s throttled (more than the agent reads a second was sent to the group)";
  o << "\n";
  return o.str();
}

std::string FormatDropsColumns() {
  return Pad("TIME (UTC)", 25) + Pad("SOURCE", 24) + Pad("DESTINATION", 24) + Pad("PROTO", 7) + Pad("IN>OUT", 23) +
         "RULE  [POLICY]\n";
}

std::string FormatDropRecords(const nlohmann::json& page) {
  std::ostringstream o;
  for (const auto& j : page["records"]) {
    auto r = droplog::DropRecordFromJson(j);
    if (!r.ok()) continue;
    std::string rule = r->rule.empty() ? "(log prefix \"" + r->prefix + "\")"
                                       : r->family + " " + r->table + " " + r->chain + ": " + r->rule;
    std::string ifs = (r->in.empty() ? "-" : r->in) + ">" + (r->out.empty() ? "-" : r->out);
    o << Pad(TimeText(r->unix_nanos), 25) << Pad(Endpoint(r->src, r->sport), 24) << Pad(Endpoint(r->dst, r->dport), 24)
      << Pad(r->proto.empty() ? "-" : r->proto, 7) << Pad(ifs, 23) << rule
      << (r->policy.empty() ? "" : "  [policy " + r->policy + "]") << "\n";
  }
  return o.str();
}

void RegisterDropsCommand(CLI::App& app) {
  struct Args {
    std::string run_dir = "/run/ipo-netd";
    bool follow = false;
    bool json = false;
    uint64_t after = 0;
    std::string unused_policy, unused_state_dir;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "drops", "show the packets the agent's rules dropped, with the rule and the policy entry behind each");
  cmd->add_option("--run-dir", a->run_dir, "the agent's runtime directory")->capture_default_str();
  // The agent attributes drops with its own policy file; these are taken so that every
  // command accepts the same paths (scripts pass them all).
  cmd->add_option("--policy", a->unused_policy, "accepted for symmetry with the other commands; not used");
  cmd->add_option("--state-dir", a->unused_state_dir, "accepted for symmetry with the other commands; not used");
  cmd->add_flag("-f,--follow", a->follow, "keep printing new drops until interrupted");
  cmd->add_flag("--json", a->json, "the agent's document as JSON (with --follow: one record per line)");
  cmd->add_option("--after", a->after, "only drops with a sequence number above this one")->capture_default_str();
  cmd->callback([a] {
    auto client = bus::AgentClient::Connect(a->run_dir + "/bus.sock");
    if (!client.ok()) Fail(client.status().message());
    nlohmann::json page = Fetch(*client, a->after);
    if (!a->follow) {
      if (a->json) std::cout << page.dump(2) << "\n";
      else std::cout << FormatDropsHeader(page) << FormatDropsColumns() << FormatDropRecords(page);
      return;
    }
    struct sigaction sa {};
    sa.sa_handler = OnStop;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    if (!a->json) std::cerr << FormatDropsHeader(page) << FormatDropsColumns();
    while (g_stop == 0) {
      if (a->json) {
        for (const auto& r : page["records"]) std::cout << r.dump() << "\n";
      } else {
        std::cout << FormatDropRecords(page);
      }
      std::cout.flush();
      uint64_t next = page["next"].get<uint64_t>();
      for (int i = 0; i < 5 && g_stop == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (g_stop != 0) break;
      page = Fetch(*client, next);
      if (page.value("missed", uint64_t{0}) > 0)
        std::cerr << "(" << page["missed"].get<uint64_t>() << " drops were overwritten before they could be shown)\n";
    }
  });
}

}  // namespace ipo::cli
