#include "daemon/tamper_watch.h"

#include <catch2/catch.hpp>

using namespace ipo;
using daemon::WorkItem;

namespace {

constexpr uint8_t kInet = 1;
constexpr uint16_t kDelTable = 2;  // NFT_MSG_DELTABLE

nft::TableChange Change(const std::string& table, uint32_t portid) { return {kInet, table, kDelTable, portid, false}; }

std::vector<WorkItem> Drain(daemon::WorkQueue& queue) {
  std::vector<WorkItem> out;
  while (auto item = queue.TryPop()) out.push_back(*item);
  return out;
}

}  // namespace

TEST_CASE("foreign changes to the owned tables and overruns are queued; the agent's own are not") {
  daemon::WorkQueue queue;
  std::atomic<bool> stopping{false};
  std::vector<std::vector<nft::TableChange>> polls = {
      {Change("ipo_netd", 42), Change("someone_else", 7)},  // its own batch; another table
      {},                                                   // a timeout
      {Change("ipo_netd", 7), {0, "", 0, 0, true}},          // a foreign delete; lost notifications
  };
  size_t next = 0;
  daemon::WatchTables(
      [&](std::chrono::milliseconds) -> Result<std::vector<nft::TableChange>> {
        if (next + 1 == polls.size()) stopping = true;
        return polls.at(next++);
      },
      42, queue, stopping);
  auto items = Drain(queue);
  REQUIRE(items.size() == 2);
  CHECK(items[0].kind == WorkItem::Kind::kTamper);
  CHECK(items[0].detail == Change("ipo_netd", 7).ToString());
  CHECK(items[1].kind == WorkItem::Kind::kTamper);
  CHECK(items[1].at != std::chrono::steady_clock::time_point{});
}

TEST_CASE("a failed poll ends the watch with kMonitorLost") {
  daemon::WorkQueue queue;
  std::atomic<bool> stopping{false};
  daemon::WatchTables(
      [](std::chrono::milliseconds) -> Result<std::vector<nft::TableChange>> {
        return Status::Unavailable("recv: No buffer space available");
      },
      42, queue, stopping);
  auto items = Drain(queue);
  REQUIRE(items.size() == 1);
  CHECK(items[0].kind == WorkItem::Kind::kMonitorLost);
  CHECK(items[0].detail == "recv: No buffer space available");
}
