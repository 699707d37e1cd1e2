#include "cli/explain_cmd.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <chrono>
#include <csignal>
#include <map>
#include <set>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/status_collect.h"
#include "common/json_limits.h"
#include "common/json_lines.h"
#include "compile/compiler.h"
#include "hostsock/sock_diag.h"
#include "nft/netlink_backend.h"
#include "nft/nft_trace.h"
#include "model/observed.h"
#include "policy/policy.h"

namespace ipo::cli {
namespace {

using nlohmann::json;

struct IfaddrsDeleter {
  void operator()(ifaddrs* a) const { freeifaddrs(a); }
};

// The host's own addresses (this network namespace's).
std::vector<nft::Value> LocalAddresses() {
  std::vector<nft::Value> out;
  ifaddrs* raw = nullptr;
  if (getifaddrs(&raw) != 0) return out;
  std::unique_ptr<ifaddrs, IfaddrsDeleter> list(raw);
  for (ifaddrs* a = raw; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof(text));
      if (auto v = nft::ParseIpv4(text)) out.emplace_back(*v);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, text, sizeof(text));
      if (auto v = nft::ParseIpv6(text)) out.emplace_back(*v);
    }
  }
  return out;
}

[[noreturn]] void BadInput(const std::string& what) {
  std::cerr << "error: " << what << "\n";
  throw CLI::RuntimeError(2);
}

// One end: a container of the agent's status, or an address.
struct End {
  nft::Value addr;
  std::string iif;  // a container's bridge; "" for an address from outside
};

End Resolve(const std::string& text, bool v6, const status::AgentStatus& agent, const policy::Policy& policy,
            const std::string& what) {
  if (auto a = nft::ParseIpv4(text)) return {*a, ""};
  if (auto a = nft::ParseIpv6(text)) return {*a, ""};
  for (const status::ContainerView& c : agent.containers) {
    if (c.name != text) continue;
    const std::string& addr = v6 ? c.ipv6 : c.ipv4;
    std::optional<nft::Value> value;
    if (v6) {
      if (auto p = nft::ParseIpv6(addr)) value = *p;
    } else if (auto p = nft::ParseIpv4(addr)) {
      value = *p;
    }
    if (!value) BadInput(what + ": container " + text + " has no IPv" + (v6 ? "6" : "4") + " address (is it running?)");
    std::string bridge;
    if (const policy::Network* n = policy.FindNetwork(c.policy_network); n && c.managed) bridge = n->bridge;
    for (const std::string& net : c.networks)
      if (bridge.empty() && net == "bridge") bridge = compile::kDockerDefaultBridge;
    return {*value, bridge};
  }
  BadInput(what + ": \"" + text + "\" is neither an address nor a container the agent knows");
}

// Who listens on the host for (proto, addr, port): a socket bound to it or to the wildcard.
std::optional<hostsock::HostSocket> Listener(uint8_t proto, const nft::Value& addr, uint16_t port) {
  auto sockets = hostsock::ListHostSockets();
  if (!sockets.ok()) return std::nullopt;
  hostsock::FillOwners(*sockets);
  std::string text = nft::ValueToString(addr);
  bool v6 = std::holds_alternative<nft::Ipv6>(addr);
  for (const hostsock::HostSocket& s : *sockets) {
    if (s.proto != proto || s.port != port) continue;
    if (s.addr == text || s.addr == (v6 ? "::" : "0.0.0.0") || (!v6 && s.addr == "::")) return s;
  }
  return std::nullopt;
}

const char* Mark(const explain::Step& s) { return s.matched ? "✓" : "·"; }

constexpr const char* kTraceTable = "ipo_netctl_trace";

// The tables that mark the flow of `p` with nftrace, before anything else sees it: inet
// (routed packets) and bridge (frames switched between two ports of one bridge).
nft::Ruleset TraceTables(const explain::Packet& p) {
  using nft::Field;
  bool v6 = p.v6();
  std::vector<nft::Expr> match{
      nft::Cmp{v6 ? Field::kIp6Saddr : Field::kIpSaddr, false, p.saddr},
      nft::Cmp{v6 ? Field::kIp6Daddr : Field::kIpDaddr, false, p.daddr},
      nft::Cmp{Field::kMetaL4proto, false, nft::Proto{p.proto}},
      nft::Cmp{Field::kThDport, false, nft::Port{p.dport}},
      nft::NftraceSet{}};
  nft::Ruleset rs;
  for (nft::Family f : {nft::Family::kInet, nft::Family::kBridge}) {
    nft::Table t;
    t.family = f;
    t.name = kTraceTable;
    nft::Chain c{"trace-flow", nft::BaseChainSpec{nft::ChainType::kFilter, nft::Hook::kPrerouting, -350, false}, {}};
    std::vector<nft::Expr> exprs;
    if (f == nft::Family::kInet) {
      exprs.push_back(nft::Cmp{Field::kMetaNfproto, false, nft::Proto{static_cast<uint8_t>(v6 ? 10 : 2)}});
    } else {
      exprs.push_back(nft::Cmp{Field::kMetaProtocol, false, nft::Port{static_cast<uint16_t>(v6 ? 0x86dd : 0x0800)}});
    }
    exprs.insert(exprs.end(), match.begin(), match.end());
    c.rules.push_back(nft::Rule{exprs, "ipo-netctl explain --trace: this flow"});
    t.chains.push_back(std::move(c));
    rs.tables.push_back(std::move(t));
  }
  return rs;
}

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void OnInterrupt(int) { g_interrupted = 1; }

// Marks the flow, waits up to `seconds` for its first packet, unmarks it and fills the trace
// part of `r`. False when no packet came (or the kernel refused the marking table).
bool Trace(ExplainReport& r, int seconds, bool announce) {
  auto trace = nft::NftTrace::Open();
  if (!trace.ok()) BadInput("--trace: " + trace.status().message());
  auto nl = nft::NetlinkBackend::Create();
  if (!nl.ok()) BadInput("--trace: " + nl.status().message());
  std::vector<nft::TableRef> mine{{nft::Family::kInet, kTraceTable}, {nft::Family::kBridge, kTraceTable}};
  Status marking = (*nl)->ReplaceTables(TraceTables(r.packet), false);
  if (!marking.ok()) BadInput("--trace: the kernel refused the marking table: " + marking.message());
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (announce) {
    std::cerr << "tracing " << model::ProtoName(r.packet.proto) << " " << nft::ValueToString(r.packet.saddr) << " -> "
              << nft::ValueToString(r.packet.daddr) << ":" << r.packet.dport << " for up to " << seconds
              << " s: send a packet of this flow now\n";
  }
  // The first packet's events. Only this flow is marked, so every event is of this flow; a
  // packet is marked once per family it passes (bridge, then inet when a bridge delivers it
  // up), and the next packet starts where the first family's marking chain comes again after
  // other chains. (Trace ids do not tell packets apart: the kernel derives them from the
  // packet's buffer, which the next packet may reuse.)
  std::vector<nft::TraceEvent> events;
  std::optional<uint8_t> first_family;
  bool seen_other = false, done = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  auto quiet_until = std::chrono::steady_clock::time_point::max();
  while (!done && !g_interrupted && std::chrono::steady_clock::now() < std::min(deadline, quiet_until)) {
    auto got = (*trace)->Poll(std::chrono::milliseconds(100));
    if (!got.ok()) break;
    for (nft::TraceEvent& e : *got) {
      if (done) break;
      if (e.table == kTraceTable) {
        if (!first_family) first_family = e.family;
        if (e.family == *first_family && seen_other) {
          done = true;  // the next packet
          break;
        }
      } else {
        seen_other = true;
      }
      events.push_back(std::move(e));
      quiet_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    }
  }
  (void)(*nl)->DeleteTables(mine);
  if (events.empty()) return false;

  // Rule handles -> comments, from the agent's tables as they are now.
  std::map<std::string, std::string> comments;  // "family table chain handle" -> comment
  auto tables = (*nl)->ReadTables(compile::OwnedTables());
  if (tables.ok()) {
    for (const nft::Table& t : tables->tables)
      for (const nft::Chain& c : t.chains)
        for (const nft::Rule& rule : c.rules)
          comments[std::string(nft::FamilyName(t.family)) + " " + t.name + " " + c.name + " " +
                   std::to_string(rule.handle)] = rule.comment.substr(0, rule.comment.rfind(" #"));
  }
  r.traced = true;
  r.trace_verdict = "not handled";
  std::set<uint8_t> marked;
  for (const nft::TraceEvent& e : events) {
    std::string fam = nft::FamilyName(static_cast<nft::Family>(e.family));
    std::string where = fam + " " + e.table + " " + e.chain;
    std::string what = e.type == "policy" ? "(the chain's policy)" : e.type == "return" ? "(end of chain)" : "";
    if (e.type == "rule") {
      auto it = comments.find(where + " " + std::to_string(e.handle));
      what = e.table == kTraceTable ? "(marked for tracing)"
             : it != comments.end() ? it->second
             : e.handle == 0        ? "(no rule matched)"
                                    : "rule " + std::to_string(e.handle);
    }
    if (e.table == kTraceTable) {  // one line per family the packet was marked in
      if (e.type != "rule" || marked.count(e.family) != 0) continue;
      marked.insert(e.family);
      what = "(marked for tracing)";
    }
    std::string verdict = e.verdict + (e.jump_target.empty() ? "" : " " + e.jump_target);
    r.trace_path.push_back(where + ": " + what + (verdict.empty() ? "" : " -> " + verdict));
    bool agents = e.table == compile::kFilterTable || e.table == compile::kNatTable;
    bool nat = e.chain.rfind("nat-", 0) == 0;
    if (!agents || nat || e.type != "rule") continue;
    if (e.verdict == "drop") {
      r.trace_verdict = "dropped";
      r.trace_reason = where + ": " + what;
    } else if (e.verdict == "accept" && r.trace_verdict != "dropped") {
      r.trace_verdict = "allowed";
      r.trace_reason = where + ": " + what;
    }
  }
  return true;
}

}  // namespace

std::string FormatExplain(const ExplainReport& r) {
  std::ostringstream o;
  const explain::Explanation& e = r.result;
  o << "explain " << r.src << " -> " << r.dst << " (IPv" << (r.packet.v6() ? "6" : "4")
    << ", the first packet of a new connection, arriving on " << (r.packet.iif.empty() ? "an uplink" : r.packet.iif)
    << ")\n";
  o << "verdict   " << e.verdict;
  if (!e.reason.empty()) o << " by " << e.reason;
  o << "\n" << "outcome   " << r.outcome << ": " << r.reaches << "\n";
  if (r.traced) {
    o << "kernel    " << r.trace_verdict;
    if (!r.trace_reason.empty()) o << " by " << r.trace_reason;
    o << (r.trace_verdict == e.verdict && r.trace_reason == e.reason ? " (agrees with the model)"
                                                                    : " (DIFFERS from the model)")
      << "\n";
  }
  o << "path (✓ matched, · evaluated and not matched; from the compiled model, counters from the kernel now):\n";
  std::string where;
  for (size_t i = 0; i < e.steps.size(); ++i) {
    const explain::Step& s = e.steps[i];
    std::string w = s.hook + "  " + s.table + " " + s.chain;
    if (w != where) o << "  " << w << "\n";
    where = w;
    o << "    " << Mark(s) << " " << (s.rule.empty() ? "(the chain's policy)" : s.rule);
    if (s.matched && !s.action.empty()) o << " -> " << s.action;
    if (s.matched && !s.detail.empty()) o << "; " << s.detail;
    if (i < r.origins.size() && !r.origins[i].empty()) o << "  [policy " << r.origins[i] << "]";
    if (s.matched && i < r.counters.size() && r.counters[i])
      o << "  (" << r.counters[i]->packets << " packets so far)";
    o << "\n";
  }
  if (r.traced) {
    o << "kernel trace of the first packet (meta nftrace, NFNLGRP_NFTRACE):\n";
    for (const std::string& line : r.trace_path) o << "  " << line << "\n";
  }
  return o.str();
}

json ExplainJson(const ExplainReport& r) {
  json steps = json::array();
  for (size_t i = 0; i < r.result.steps.size(); ++i) {
    const explain::Step& s = r.result.steps[i];
    json j{{"hook", s.hook},     {"table", s.table},   {"chain", s.chain},
           {"rule", s.rule},     {"matched", s.matched}, {"action", s.action},
           {"detail", s.detail}, {"policy_path", s.origin},
           {"policy", i < r.origins.size() ? r.origins[i] : ""}};
    if (i < r.counters.size() && r.counters[i]) {
      j["packets"] = r.counters[i]->packets;
      j["bytes"] = r.counters[i]->bytes;
    }
    steps.push_back(j);
  }
  json trace = nullptr;
  if (r.traced) {
    trace = {{"verdict", r.trace_verdict},
             {"reason", r.trace_reason},
             {"agrees", r.trace_verdict == r.result.verdict && r.trace_reason == r.result.reason},
             {"path", r.trace_path}};
  }
  return {{"src", r.src},
          {"trace", trace},
          {"dst", r.dst},
          {"family", r.packet.v6() ? "ipv6" : "ipv4"},
          {"proto", model::ProtoName(r.packet.proto)},
          {"verdict", r.result.verdict},
          {"reason", r.result.reason},
          {"outcome", r.outcome},
          {"reaches", r.reaches},
          {"container", r.result.container},
          {"daddr", nft::ValueToString(r.result.daddr)},
          {"dport", r.result.dport},
          {"to_host", r.result.to_host},
          {"steps", steps}};
}

void RegisterExplainCommand(CLI::App& app) {
  struct Args {
    StatusPaths paths;
    std::string src, dst;
    bool v6 = false;
    bool json = false;
    bool trace = false;
    int trace_seconds = 10;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "explain", "why SRC can or cannot reach DST:PORT[/tcp|/udp]: the verdict and each rule on the way, with the "
                 "policy entry behind it");
  cmd->add_option("SRC", a->src, "a container name or an address")->required();
  cmd->add_option("DST", a->dst, "NAME:PORT, ADDRESS:PORT or [IPV6]:PORT, optionally /tcp or /udp")->required();
  cmd->add_flag("-6,--ipv6", a->v6, "use containers' IPv6 addresses (addresses given say their family)");
  cmd->add_flag("--json", a->json, "print the explanation as JSON");
  cmd->add_flag("--trace", a->trace,
                "confirm with a real packet: mark this flow with nftrace, wait for its first packet (send one), "
                "print the kernel's path beside the model's");
  cmd->add_option("--trace-seconds", a->trace_seconds, "how long --trace waits for a packet")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  cmd->add_option("--policy", a->paths.policy, "policy file")->capture_default_str();
  cmd->add_option("--run-dir", a->paths.run_dir, "the agent's runtime directory")->capture_default_str();
  cmd->add_option("--state-dir", a->paths.state_dir, "the agent's state directory")->capture_default_str();
  cmd->callback([a] {
    int code = 0;
    status::StatusReport status = CollectStatus(a->paths, code);
    if (!status.error.empty()) BadInput(status.error);
    auto policy = policy::LoadPolicy(a->paths.policy);
    if (!policy.ok()) BadInput(policy.status().message());
    model::Observed observed = status.agent.observed.value_or(model::Observed{});

    ExplainReport r;
    r.src = a->src;
    r.dst = a->dst;
    auto parsed = explain::ParseDestination(a->dst);
    if (!parsed.ok()) BadInput(parsed.status().message());
    const std::string& dst_host = parsed->host;
    uint16_t port = parsed->port;
    uint8_t proto = parsed->proto;
    bool v6 = a->v6 || nft::ParseIpv6(a->src).has_value() || nft::ParseIpv6(dst_host).has_value();
    End src = Resolve(a->src, v6, status.agent, *policy, "SRC");
    End dst = Resolve(dst_host, v6, status.agent, *policy, "DST");
    if (src.addr.index() != dst.addr.index()) BadInput("SRC and DST are of different address families");
    r.packet = explain::Packet{src.addr, dst.addr, proto, port, src.iif};

    explain::Host host;
    host.local = LocalAddresses();
    host.routes = explain::PolicyRoutes(*policy, observed.default_bridge_v4);
    for (const status::ContainerView& c : status.agent.containers) {
      if (!c.ipv4.empty()) host.names[c.ipv4] = c.name;
      if (!c.ipv6.empty()) host.names[c.ipv6] = c.name;
    }
    nft::Ruleset rs = compile::Compile(*policy, observed);
    r.result = explain::Explain(rs, *policy, host, r.packet);

    const explain::Explanation& e = r.result;
    std::string target = nft::ValueToString(e.daddr) + ":" + std::to_string(e.dport);
    if (e.verdict == "dropped") {
      r.outcome = "closed";
      r.reaches = "nothing (dropped)";
    } else if (e.to_host) {
      auto l = Listener(proto, e.daddr, e.dport);
      std::string service = std::string("the host's ") + model::ProtoName(proto) + "/" + std::to_string(e.dport);
      r.outcome = l ? "host-service" : "closed";
      r.reaches = l ? service + " (" + (l->owner.empty() ? "listening" : l->owner) + " on " + l->addr + ")"
                    : service + ": nothing listens there, the host refuses it";
    } else if (!e.container.empty()) {
      r.outcome = "container";
      r.reaches = e.container + " (" + target + ")";
    } else {
      r.outcome = "elsewhere";
      r.reaches = target + ", no container the agent knows (routed on)";
    }

    std::string policy_text;  // read again for the lines of its entries (LoadPolicy succeeded)
    ReadBounded(a->paths.policy, policy::kPolicyLimits, policy_text);
    JsonLines lines(policy_text);
    for (const explain::Step& s : e.steps) {
      r.origins.push_back(s.origin.empty() ? ""
                                           : a->paths.policy + ":" + std::to_string(lines.LineOf(s.origin)) + " " +
                                                 s.origin);
      std::optional<status::RuleCounter> counter;
      for (const status::RuleCounter& c : status.counters)
        if (c.family + " " + c.table == s.table && c.chain == s.chain && c.rule == s.rule) counter = c;
      r.counters.push_back(counter);
    }
    bool traced = !a->trace || Trace(r, a->trace_seconds, true);
    if (a->json) std::cout << ExplainJson(r).dump(2) << "\n";
    else std::cout << FormatExplain(r);
    if (!traced) {
      std::cerr << "error: --trace: no packet of this flow within " << a->trace_seconds << " s\n";
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace ipo::cli
