#include "bus/bus.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

TEST_CASE("GetStatus and Resync round-trip over the peer-to-peer bus socket") {
  char tmpl[] = "/tmp/ipo-bus-test.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string sock = std::string(tmpl) + "/bus.sock";
  std::atomic<int> resyncs{0};
  auto server = ipo::bus::BusServer::Listen(sock, {[] { return std::string("{\"health\":\"ok\"}"); },
                                                  [&] { ++resyncs; }});
  REQUIRE(server.ok());
  std::atomic<bool> stop{false};
  std::thread t([&] { (*server)->Run([&] { return stop.load(); }); });
  auto status = ipo::bus::CallGetStatus(sock);
  INFO((status.ok() ? std::string() : status.status().message()));
  REQUIRE(status.ok());
  CHECK(*status == "{\"health\":\"ok\"}");
  REQUIRE(ipo::bus::CallResync(sock).ok());
  CHECK(resyncs == 1);
  auto again = ipo::bus::CallGetStatus(sock);  // a second client after the first left
  CHECK(again.ok());
  stop = true;
  t.join();
  server->reset();
  auto none = ipo::bus::CallGetStatus(sock);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == ipo::Status::Code::kUnavailable);
  rmdir(tmpl);
}
