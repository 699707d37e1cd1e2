// DropWatch against the kernel, in a fresh network namespace (CTest runs it under
// `unshare --net`): a packet dropped by a rule whose log twin the agent wrote is read,
// attributed to the drop rule and its policy entry, kept and journaled; an nflog group held
// by someone else is reported by name, not fatal, and taken once it is free.
#include "droplog/drop_watch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "nft/netlink_backend.h"
#include "testing/netns_shell.h"

namespace ipo::droplog {
namespace {

using namespace std::chrono_literals;

nft::Ruleset Logged(uint16_t group) {
  nft::Table t;
  t.family = nft::Family::kInet;
  t.name = "drop_watch_test";
  nft::Chain out{"filter-output", nft::BaseChainSpec{nft::ChainType::kFilter, nft::Hook::kOutput, 0, false}, {}};
  nft::Expr port = nft::Cmp{nft::Field::kThDport, false, nft::Port{9999}};
  nft::Expr udp = nft::Cmp{nft::Field::kMetaL4proto, false, nft::Proto{17}};
  nft::Rule twin{{udp, port, nft::Limit{10, 20}, nft::Counter{}, nft::Log{"ipo inet/filter-output: the drop", group}},
                 "log: the drop"};
  nft::Rule drop{{udp, port, nft::Counter{}, nft::Verdict{nft::VerdictKind::kDrop, ""}}, "the drop"};
  twin.origin = drop.origin = "lan.subnets[0]";
  out.rules = {twin, drop};
  t.chains = {out};
  return nft::Ruleset{{t}};
}

std::string PolicyText() {
  std::ifstream in(IPO_POLICY_FILE);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Sends `n` UDP datagrams to 127.0.0.1:9999 (each dropped by the output chain: EPERM).
void SendUdp(int n = 1) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(9999);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) (void)sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  close(fd);
}

// Polls `page()` until `ok` holds for it, up to 5 s.
template <typename F>
nlohmann::json WaitFor(const DropWatch& w, F ok) {
  nlohmann::json page;
  for (int i = 0; i < 50; ++i) {
    page = w.Page(0, 100);
    if (ok(page)) break;
    std::this_thread::sleep_for(100ms);
  }
  return page;
}

struct Running {
  explicit Running(DropWatch& w) : thread([&] { w.Run(stopping); }) {}
  ~Running() {
    stopping = true;
    thread.join();
  }
  std::atomic<bool> stopping{false};
  std::thread thread;
};

TEST_CASE("drop watch: a dropped packet is read, attributed to its rule and policy line, and journaled") {
  REQUIRE(ipo::testing::EnterOwnNetns());
  ipo::testing::Sh("ip link set lo up");
  auto backend = nft::NetlinkBackend::Create();
  REQUIRE(backend.ok());
  nft::Ruleset rs = Logged(41);
  REQUIRE((*backend)->ReplaceTables(rs, false).ok());

  DropRing ring(16);
  std::vector<DropRecord> journaled;
  std::mutex mu;
  DropWatch watch(ring, {.journal = [&](const DropRecord& r) {
                           std::lock_guard<std::mutex> lock(mu);
                           journaled.push_back(r);
                         },
                         .journal_note = nullptr,
                         .retry = 0s});
  watch.SetIndex(std::make_shared<const DropIndex>(DropIndex::Build(rs, "p.json", PolicyText())));
  Running run(watch);
  auto bound = WaitFor(watch, [](const nlohmann::json& p) { return p["listening"] == true; });
  REQUIRE(bound["group"] == 41);
  SendUdp();
  auto page = WaitFor(watch, [](const nlohmann::json& p) { return !p["records"].empty(); });
  REQUIRE(page["records"].size() == 1);
  const auto& r = page["records"][0];
  CHECK(r["src"] == "127.0.0.1");
  CHECK(r["dst"] == "127.0.0.1");
  CHECK(r["proto"] == "udp");
  CHECK(r["dport"] == 9999);
  CHECK(r["out"] == "lo");
  CHECK(r["chain"] == "filter-output");
  CHECK(r["rule"] == "the drop");
  CHECK(r["policy"] == "p.json:4 lan.subnets[0]");
  CHECK(r["unix_nanos"].get<int64_t>() > 1700000000LL * 1000000000LL);
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(journaled.size() == 1);
  CHECK(journaled[0].rule == "the drop");
}

TEST_CASE("drop watch: a group someone else holds is reported by name, and taken once free") {
  REQUIRE(ipo::testing::EnterOwnNetns());
  auto other = nft::NflogListener::Open(42);  // ulogd, say
  REQUIRE(other.ok());
  DropRing ring(4);
  DropWatch watch(ring, {.journal = nullptr, .journal_note = nullptr, .retry = 0s});
  watch.SetIndex(std::make_shared<const DropIndex>(DropIndex::Build(Logged(42), "p.json", "")));
  Running run(watch);
  auto refused = WaitFor(watch, [](const nlohmann::json& p) { return !p["error"].get<std::string>().empty(); });
  CHECK(refused["listening"] == false);
  CHECK(refused["error"] == "nflog group 42 is bound by another process");
  other->reset();
  auto taken = WaitFor(watch, [](const nlohmann::json& p) { return p["listening"] == true; });
  CHECK(taken["listening"] == true);
  CHECK(taken["error"].get<std::string>().empty());
  // drop_log turned off: the group is let go.
  watch.SetIndex(std::make_shared<const DropIndex>());
  auto off = WaitFor(watch, [](const nlohmann::json& p) { return p["listening"] == false; });
  CHECK(off["group"].is_null());
  CHECK(off["listening"] == false);
}

TEST_CASE("drop watch: a group flooded by someone else's unlimited log rule is read within the budget") {
  REQUIRE(ipo::testing::EnterOwnNetns());
  ipo::testing::Sh("ip link set lo up");
  auto backend = nft::NetlinkBackend::Create();
  REQUIRE(backend.ok());
  nft::Ruleset rs = Logged(43);
  REQUIRE((*backend)->ReplaceTables(rs, false).ok());
  // Someone else's rule, before the agent's: every such packet, no limit, into the agent's group.
  std::string out = ipo::testing::Sh(
      "echo 'table inet hostile { chain o { type filter hook output priority -10; policy accept; "
      "udp dport 9999 log group 43; }; }' | nft -f - 2>&1");
  REQUIRE(out.empty());

  DropRing ring(4096);
  DropWatch watch(ring, {.journal = nullptr, .journal_note = nullptr, .retry = 0s});
  watch.SetIndex(std::make_shared<const DropIndex>(DropIndex::Build(rs, "p.json", "")));
  Running run(watch);
  REQUIRE(WaitFor(watch, [](const nlohmann::json& p) { return p["listening"] == true; })["listening"] == true);
  auto start = std::chrono::steady_clock::now();
  for (int burst = 0; burst < 20; ++burst) {  // ~2 s of as many packets as this host sends
    SendUdp(5000);
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(1500ms);  // the last batches reach the watch
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto page = watch.Page(0, 1);
  uint64_t read = page["logged_total"].get<uint64_t>();
  INFO("read " << read << " of 100000 logged in " << seconds << " s; throttled " << page["throttled_seconds"]
               << " s, overruns " << page["overruns"]);
  // Per second: the budget, plus one Poll's overshoot (16 reads of at most 32 messages).
  CHECK(read <= static_cast<uint64_t>((kMaxRecordsPerSecond + 16 * 32) * (seconds + 1)));
  CHECK(read >= static_cast<uint64_t>(kMaxRecordsPerSecond));
  CHECK(page["throttled_seconds"].get<uint64_t>() >= 1);
  CHECK(page["listening"] == true);  // still reading, not failed
}

}  // namespace
}  // namespace ipo::droplog
