#include "docker/disk_ports.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using ipo::docker::DockerDataRoot;
using ipo::docker::ReadDiskPortBindings;

namespace {

struct TempRoot {
  std::string dir;
  TempRoot() {
    char tmpl[] = "/tmp/ipo-disk-ports-test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  ~TempRoot() { std::filesystem::remove_all(dir); }
  void Write(const std::string& rel, const std::string& text) const {
    std::filesystem::path p = std::filesystem::path(dir) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
};

}  // namespace

TEST_CASE("disk ports: every container's -p host ports from hostconfig.json, bad files named and skipped") {
  TempRoot root;
  root.Write("containers/aaa/hostconfig.json",
             R"({"NetworkMode":"default","PortBindings":{"3316/tcp":[{"HostIp":"","HostPort":"3316"}],)"
             R"("3316/udp":[{"HostIp":"127.0.0.1","HostPort":"9999"}],"80/tcp":[{"HostIp":"","HostPort":""}]}})");
  root.Write("containers/bbb/hostconfig.json", R"({"PortBindings":{}})");
  root.Write("containers/ccc/hostconfig.json", "{garbage");
  root.Write("containers/ddd/hostconfig.json", "{\"PortBindings\": " + std::string(100, '[') + "}");
  root.Write("containers/eee/config.v2.json", "{}");  // no hostconfig.json: not counted
  auto got = ReadDiskPortBindings(root.dir);
  CHECK(got.containers == 2);
  REQUIRE(got.bindings.size() == 2);  // the random port (HostPort "") is unknowable at boot
  CHECK(got.bindings[0].proto == "tcp");
  CHECK(got.bindings[0].host_port == 3316);
  CHECK(got.bindings[1].proto == "udp");
  CHECK(got.bindings[1].host_port == 9999);
  CHECK(got.bindings[1].host_ip == "127.0.0.1");
  REQUIRE(got.problems.size() == 2);
  CHECK(got.problems[0].find(root.dir + "/containers/ccc/hostconfig.json: Docker hostconfig.json: ") == 0);
  CHECK(got.problems[1] == root.dir + "/containers/ddd/hostconfig.json:1: nesting deeper than 32 levels");
}

TEST_CASE("disk ports: no docker root means no container, not an error") {
  auto got = ReadDiskPortBindings("/nonexistent/docker");
  CHECK(got.containers == 0);
  CHECK(got.bindings.empty());
  CHECK(got.problems.empty());
}

TEST_CASE("the docker data root comes from daemon.json when it names one") {
  TempRoot root;
  root.Write("daemon.json", R"({"iptables": false, "data-root": "/srv/docker"})");
  CHECK(DockerDataRoot(root.dir + "/daemon.json") == "/srv/docker");
  root.Write("other.json", R"({"iptables": false})");
  CHECK(DockerDataRoot(root.dir + "/other.json") == "/var/lib/docker");
  CHECK(DockerDataRoot(root.dir + "/missing.json") == "/var/lib/docker");
}
