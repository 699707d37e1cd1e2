// bench_nft: how fast NetlinkBackend changes the kernel's ruleset, side by side with the
// command-line tools an operator would otherwise use, in one run:
//
//   full apply      a table with an N-element (default 10,000) interval allowlist set,
//                   atomically replaced: NetlinkBackend::ReplaceTables vs `nft -f` of the
//                   same Ruleset::ToString() vs `iptables-restore` (iptables-nft) of N
//                   equivalent rules (one per address or range) in one chain;
//   one element     add, then delete, of one address with N loaded: UpdateElements vs
//                   `nft add|delete element` vs `iptables -A|-D`.
//
// Prints p50/p99 over --reps repetitions (default 100) and each tool's ratio to netlink.
// The tools are timed as an operator or a script would run them (process start included).
//
// It moves itself into a new network namespace first (unshare(CLONE_NEWNET)), so it never
// touches the host's ruleset. REQUIRES: root, nft, iptables-nft.
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "nft/netlink_backend.h"

namespace ipo::nft {
namespace {

struct Options {
  int elements = 10000;
  int reps = 100;
  bool iptables = true;
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "bench_nft: %s\n", msg.c_str());
  std::exit(1);
}

const char* kErrFile = "/tmp/ipo-bench-nft.stderr";

double Ms(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
}

// CPU time (user + system) of this thread, in ms. The kernel processes a netlink batch inside
// sendmsg(), so this includes the kernel's work on it.
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CPU time of the children Run() waited for since the last call.
double g_child_cpu_ms = 0;

// Runs argv; dies with its stderr when it fails.
void Run(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, kErrFile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) Die("cannot run " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  g_child_cpu_ms += Ms(ru.ru_utime) + Ms(ru.ru_stime);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream err(kErrFile);
    std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    std::string cmd;
    for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    Die("`" + cmd.substr(0, 200) + "` failed: " + text);
  }
}

void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

// Element i of the allowlist: every 10th is a 3-address range, the rest single addresses;
// spaced 4 apart so that none touch (nothing to merge).
Element AllowElement(int i) {
  uint32_t base = (10u << 24) + static_cast<uint32_t>(i) * 4u;
  if (i % 10 == 0) return Element{{Ipv4{base}}, {{Ipv4{base + 2}}}, {}};
  return Element{{Ipv4{base}}, std::nullopt, {}};
}

std::string Dotted(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

Ruleset AllowlistRuleset(int n) {
  Set allow{"allow-v4", {Type::kIpv4Addr}, {}, true, {}, "bench allowlist"};
  for (int i = 0; i < n; ++i) allow.elements.push_back(AllowElement(i));
  Rule drop{{Cmp{Field::kMetaNfproto, false, Proto{2}},
             Lookup{{Field::kIpSaddr}, true, "allow-v4"}, Counter{},
             Verdict{VerdictKind::kDrop, ""}},
            "drop sources outside the allowlist"};
  Chain input{"filter-input", BaseChainSpec{ChainType::kFilter, Hook::kInput, 0, false}, {drop}};
  Table t{Family::kInet, "ipo_bench", {allow}, {input}};
  return Ruleset{{t}};
}

// The same allowlist as iptables rules: RETURN for allowed sources, then DROP.
std::string IptablesRestoreScript(int n) {
  std::string s = "*filter\n:IPO-BENCH - [0:0]\n";
  for (int i = 0; i < n; ++i) {
    Element e = AllowElement(i);
    uint32_t lo = std::get<Ipv4>(e.key[0]).addr;
    if (e.key_end) {
      s += "-A IPO-BENCH -m iprange --src-range " + Dotted(lo) + "-" +
           Dotted(std::get<Ipv4>((*e.key_end)[0]).addr) + " -j RETURN\n";
    } else {
      s += "-A IPO-BENCH -s " + Dotted(lo) + "/32 -j RETURN\n";
    }
  }
  s += "-A IPO-BENCH -j DROP\nCOMMIT\n";
  return s;
}

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/ipo-bench-nft-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) Die("mkstemp failed");
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) Die("write failed");
  close(fd);
  return path;
}

struct Stats {
  double p50 = 0, p99 = 0;          // wall clock
  double cpu_p50 = 0, cpu_p99 = 0;  // CPU time: this thread (kernel work included) + children
};

double Rank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(k, 1, v.size()) - 1];
}

Stats Measure(int reps, const std::function<void(int)>& op) {
  std::vector<double> wall, cpu;
  for (int i = 0; i < reps; ++i) {
    g_child_cpu_ms = 0;
    double c0 = ThreadCpuMs();
    auto t0 = std::chrono::steady_clock::now();
    op(i);
    auto t1 = std::chrono::steady_clock::now();
    cpu.push_back(ThreadCpuMs() - c0 + g_child_cpu_ms);
    wall.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return Stats{Rank(wall, 0.50), Rank(wall, 0.99), Rank(cpu, 0.50), Rank(cpu, 0.99)};
}

struct Row {
  std::string op, method;
  Stats s;
  Stats base;  // the NetlinkBackend row of the same operation
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--elements" || a == "--reps") && i + 1 < argc) {
      int v = std::atoi(argv[++i]);
      if (v < 1) Die(a + " needs a positive number");
      (a == "--elements" ? o.elements : o.reps) = v;
    } else if (a == "--no-iptables") {
      o.iptables = false;
    } else if (a == "--help" || a == "-h") {
      std::printf("Usage: bench_nft [--elements N] [--reps N] [--no-iptables]\n");
      std::exit(0);
    } else {
      Die("unknown argument " + a + " (see --help)");
    }
  }
  return o;
}

int Main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  if (unshare(CLONE_NEWNET) != 0) Die(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
  auto backend_r = NetlinkBackend::Create();
  if (!backend_r.ok()) Die(backend_r.status().ToString());
  NetlinkBackend& nb = **backend_r;

  Ruleset rs = AllowlistRuleset(o.elements);
  std::string nft_script = WriteTemp(rs.ToString());
  std::string ipt_script = WriteTemp(IptablesRestoreScript(o.elements));
  std::vector<Row> rows;
  const std::string n = std::to_string(o.elements);
  std::fprintf(stderr, "measuring full apply of %d elements, %d repetitions each...\n",
               o.elements, o.reps);

  Stats nl_full = Measure(o.reps, [&](int) { Check(nb.ReplaceTables(rs, false), "ReplaceTables"); });
  rows.push_back({"full apply, " + n + " elements", "NetlinkBackend::ReplaceTables", nl_full, nl_full});
  rows.push_back({"", "nft -f", Measure(o.reps, [&](int) { Run({"nft", "-f", nft_script}); }),
                  nl_full});
  if (o.iptables) {
    rows.push_back({"", "iptables-nft-restore",
                    Measure(o.reps, [&](int) { Run({"iptables-nft-restore", ipt_script}); }),
                    nl_full});
  }
  Stats check = Measure(std::min(o.reps, 20), [&](int) { Check(nb.ReplaceTables(rs, true), "check"); });

  std::fprintf(stderr, "measuring one-element add/delete with %d loaded...\n", o.elements);
  Check(nb.ReplaceTables(rs, false), "ReplaceTables");
  auto probe = [](int i) { return (250u << 24) + static_cast<uint32_t>(i) * 2u + 1u; };
  auto change = [&](int i, bool add) {
    return std::vector<ElementChange>{
        {Family::kInet, "ipo_bench", "allow-v4", add, Element{{Ipv4{probe(i)}}, std::nullopt, {}}}};
  };
  auto nft_elem = [&](int i, const char* verb) {
    Run({"nft", verb, "element", "inet", "ipo_bench", "allow-v4", "{ " + Dotted(probe(i)) + " }"});
  };
  auto ipt = [&](int i, const char* flag) {
    Run({"iptables-nft", flag, "IPO-BENCH", "-s", Dotted(probe(i)) + "/32", "-j", "RETURN"});
  };
  // All adds, then all deletes: each runs with N to N + reps elements loaded.
  Stats nl_add = Measure(o.reps, [&](int i) { Check(nb.UpdateElements(change(i, true)), "add"); });
  Stats nl_del = Measure(o.reps, [&](int i) { Check(nb.UpdateElements(change(i, false)), "delete"); });
  Stats nft_add = Measure(o.reps, [&](int i) { nft_elem(i, "add"); });
  Stats nft_del = Measure(o.reps, [&](int i) { nft_elem(i, "delete"); });
  Stats ipt_add, ipt_del;
  if (o.iptables) {
    ipt_add = Measure(o.reps, [&](int i) { ipt(i, "-A"); });
    ipt_del = Measure(o.reps, [&](int i) { ipt(i, "-D"); });
  }
  rows.push_back({"add 1 element, " + n + " loaded", "NetlinkBackend::UpdateElements", nl_add, nl_add});
  rows.push_back({"", "nft add element", nft_add, nl_add});
  if (o.iptables) rows.push_back({"", "iptables-nft -A", ipt_add, nl_add});
  rows.push_back({"delete 1 element, " + n + " loaded", "NetlinkBackend::UpdateElements", nl_del, nl_del});
  rows.push_back({"", "nft delete element", nft_del, nl_del});
  if (o.iptables) rows.push_back({"", "iptables-nft -D", ipt_del, nl_del});
  // The same updates on a hash set (no interval flag) of the same N single addresses: what
  // the allowlist costs when single hosts and ranges are kept in separate sets.
  Ruleset hash_rs = AllowlistRuleset(o.elements);
  Set& hash_set = hash_rs.tables[0].sets[0];
  hash_set.interval = false;
  for (Element& e : hash_set.elements) e.key_end.reset();
  hash_rs.tables[0].name = "ipo_bench_hash";
  Check(nb.ReplaceTables(hash_rs, false), "ReplaceTables (hash)");
  auto hash_change = [&](int i, bool add) {
    auto c = change(i, add);
    c[0].table = "ipo_bench_hash";
    return c;
  };
  Stats h_add = Measure(o.reps, [&](int i) { Check(nb.UpdateElements(hash_change(i, true)), "add"); });
  Stats h_del = Measure(o.reps, [&](int i) { Check(nb.UpdateElements(hash_change(i, false)), "delete"); });
  rows.push_back({"same, hash set (no interval)", "UpdateElements add", h_add, nl_add});
  rows.push_back({"", "UpdateElements delete", h_del, nl_del});
  unlink(nft_script.c_str());
  unlink(ipt_script.c_str());
  unlink(kErrFile);

  struct utsname u {};
  uname(&u);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("bench_nft: kernel %s, %d elements, %d repetitions per row, times in ms\n",
              u.release, o.elements, o.reps);
  std::printf("load average %.1f on %ld CPUs while measuring: wall times include waiting for a CPU;\n"
              "cpu = user+system time of the caller (the kernel applies a batch inside sendmsg) "
              "plus its child processes\n\n",
              load[0], sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("%-30s %-31s %9s %9s %9s %9s %9s %9s\n", "operation", "method", "wall p50",
              "wall p99", "cpu p50", "cpu p99", "x wall", "x cpu");
  for (const Row& r : rows) {
    std::printf("%-30s %-31s %9.3f %9.3f %9.3f %9.3f %8.2fx %8.2fx\n", r.op.c_str(),
                r.method.c_str(), r.s.p50, r.s.p99, r.s.cpu_p50, r.s.cpu_p99, r.s.p50 / r.base.p50,
                r.s.cpu_p50 / r.base.cpu_p50);
  }
  std::printf("\ncheck-only full batch (validated, then aborted by the kernel): wall p50 %.3f, cpu p50 %.3f\n",
              check.p50, check.cpu_p50);
  auto verdict = [](double v, double limit) { return v < limit ? "met" : "MISSED"; };
  std::printf("target full apply < 50 ms: wall p99 %.3f %s, cpu p99 %.3f %s\n", nl_full.p99,
              verdict(nl_full.p99, 50), nl_full.cpu_p99, verdict(nl_full.cpu_p99, 50));
  double wall99 = std::max(nl_add.p99, nl_del.p99), cpu99 = std::max(nl_add.cpu_p99, nl_del.cpu_p99);
  std::printf("target one-element update < 1 ms p99: wall p99 %.3f %s, cpu p99 %.3f %s\n", wall99,
              verdict(wall99, 1), cpu99, verdict(cpu99, 1));
  return 0;
}

}  // namespace
}  // namespace ipo::nft

int main(int argc, char** argv) { return ipo::nft::Main(argc, argv); }
