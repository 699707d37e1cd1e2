// NftTrace against the kernel, in a fresh network namespace (CTest runs it under
// `unshare --net`): a packet marked by `meta nftrace set 1` (written by NetlinkBackend, byte
// for byte as nft writes it) is reported rule by rule with the handles ReadTables returns,
// up to the drop that ends it.
#include "nft/nft_trace.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "nft/netlink_backend.h"
#include "nft/netlink_testing.h"
#include "testing/netns_shell.h"

namespace ipo::nft {
namespace {

using namespace netlink_testing;  // NOLINT(google-build-using-namespace)
using ipo::testing::Sh;

Ruleset TraceRuleset() {
  Table t;
  t.family = Family::kInet;
  t.name = "trace_test";
  Chain mark{"trace-mark", BaseChainSpec{ChainType::kFilter, Hook::kOutput, -350, false}, {}};
  mark.rules.push_back(R("mark the flow", {Cmp{Field::kThDport, false, Port{9999}}, NftraceSet{}}));
  Chain out{"filter-output", BaseChainSpec{ChainType::kFilter, Hook::kOutput, 0, false}, {}};
  out.rules.push_back(R("not this one", {Cmp{Field::kThDport, false, Port{1}}, Counter{}, Accept()}));
  out.rules.push_back(R("the drop", {Ipv4Only(), Cmp{Field::kThDport, false, Port{9999}}, Counter{}, Drop()}));
  t.chains = {mark, out};
  Ruleset rs;
  rs.tables.push_back(t);
  return rs;
}

TEST_CASE("trace: a marked packet's way is reported with the rules' handles and its verdict") {
  auto backend = FreshBackend();
  REQUIRE(Sh("ip link set lo up && ip link add ipo-trc0 type veth peer name ipo-trc1 && ip link set ipo-trc0 up && "
             "ip link set ipo-trc1 up && ip addr add 198.18.1.1/24 dev ipo-trc0") == "");
  Ruleset rs = TraceRuleset();
  auto wt = ReplaceAndShow(*backend, rs);
  CHECK(wt.listing.find("th dport 9999 meta nftrace set 1 comment") != std::string::npos);
  ExpectNftWritesSame(rs, wt);  // nft writes `meta nftrace set 1` with the same bytes
  REQUIRE(backend->ReplaceTables(rs, false).ok());
  auto read = backend->ReadTables({{Family::kInet, "trace_test"}});
  REQUIRE(read.ok());
  uint64_t drop_handle = 0;
  for (const auto& c : read->tables[0].chains)
    for (const auto& r : c.rules)
      if (r.comment.rfind("the drop", 0) == 0) drop_handle = r.handle;
  REQUIRE(drop_handle != 0);

  auto trace = NftTrace::Open();
  REQUIRE(trace.ok());
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(9999);
  inet_pton(AF_INET, "198.18.1.2", &sa.sin_addr);
  sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));  // dropped: EPERM
  close(fd);
  std::vector<TraceEvent> events;
  for (int i = 0; i < 10 && (events.empty() || events.back().verdict != "drop"); ++i) {
    auto got = (*trace)->Poll(std::chrono::milliseconds(200));
    REQUIRE(got.ok());
    events.insert(events.end(), got->begin(), got->end());
  }
  std::string text;
  for (const auto& e : events) text += e.ToString() + "\n";
  INFO(text);
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().table == "trace_test");
  CHECK(events.back().chain == "filter-output");
  CHECK(events.back().type == "rule");
  CHECK(events.back().handle == drop_handle);
  CHECK(events.back().verdict == "drop");
  for (const auto& e : events) CHECK(e.id == events.front().id);  // one packet
  Sh("ip link del ipo-trc0");
}

}  // namespace
}  // namespace ipo::nft
