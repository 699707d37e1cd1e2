#include "daemon/flow_flush.h"

#include <catch2/catch.hpp>

#include "daemon/test_fixture.h"
#include "testing/fake_conntrack.h"

using namespace ipo;

namespace {

conntrack::Target Lost(const std::string& addr) {
  conntrack::Target t;
  t.addr = addr;
  t.why = addr + " no longer belongs to docker_a (id id-docker_a): stopped";
  return t;
}

conntrack::Entry FlowTo(const std::string& addr) {
  return {{"203.0.113.9", "198.51.100.1", 6, 40000, 8080}, {addr, "203.0.113.9", 6, 8080, 40000}};
}

}  // namespace

TEST_CASE("the flows of lost targets are removed and the flush is described") {
  testing::FakeFlusher ct;
  ct.entries = {FlowTo("172.30.1.2"), FlowTo("172.30.1.3")};
  CHECK_FALSE(daemon::FlushLostFlows(&ct, {}, "nothing lost", "").has_value());
  CHECK(ct.calls.empty());
  auto flush = daemon::FlushLostFlows(&ct, {Lost("172.30.1.2")}, "die docker_a", "");
  REQUIRE(flush.has_value());
  CHECK(flush->error.empty());
  CHECK(flush->removed == 1);
  CHECK(flush->record.reason == "die docker_a");
  CHECK(flush->record.scanned == 2);
  CHECK(flush->record.targets.at(0) == "172.30.1.2 no longer belongs to docker_a (id id-docker_a): stopped");
  CHECK(ct.entries == std::vector<conntrack::Entry>{FlowTo("172.30.1.3")});
}

TEST_CASE("a failed flush says why; without a flusher nothing is attempted") {
  testing::FakeFlusher ct;
  ct.fail = true;
  auto flush = daemon::FlushLostFlows(&ct, {Lost("172.30.1.2")}, "die docker_a", "");
  REQUIRE(flush.has_value());
  CHECK(flush->error == "conntrack dump failed: injected failure");
  CHECK(flush->record.error == flush->error);
  CHECK_FALSE(daemon::FlushLostFlows(nullptr, {Lost("172.30.1.2")}, "die docker_a", "no socket").has_value());
}
