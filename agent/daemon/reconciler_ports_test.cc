// The Reconciler and the docker-proxy ports it guards: the grace period of a released port,
// and ports a host process holds (never guarded, followed at the drift check).
#include "daemon/reconciler.h"

#include "daemon/test_fixture.h"

using namespace ipo;
using namespace ipo::daemon::testfix;

TEST_CASE("a removed container's docker-proxy port stays guarded for a grace period") {
  Fixture f;
  f.docker.Run("web", {{"tcp", 80, "", 8081}});
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  REQUIRE(r.Sync("start web").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports") == std::vector<std::string>{"tcp . 8081"});
  f.docker.containers.clear();  // docker rm -f web; docker run -p 8081:80 ... comes next
  REQUIRE(r.Sync("destroy web").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports") == std::vector<std::string>{"tcp . 8081"});
}

TEST_CASE("docker create -p 22:22 while the host listens on 22: status names the conflict, 22 stays open") {
  Fixture f;
  f.docker.Run("web", {{"tcp", 80, "", 8081}});
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  r.SetHostSocketSource([] { return Result<std::vector<hostsock::HostSocket>>(std::vector<hostsock::HostSocket>{{6, "::", 22, 0, ""}}); });
  f.docker.containers.push_back(Created("sneaky", {{"tcp", 22, "", 22}}));
  REQUIRE(r.Sync("create sneaky").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports") == std::vector<std::string>{"tcp . 8081"});
  auto st = r.StatusJson();
  REQUIRE(st["publish_conflicts"].size() == 1);
  CHECK(st["publish_conflicts"][0] ==
        "container sneaky: -p 22/tcp: a host process listens on host port 22; neither published nor guarded");
}

TEST_CASE("a host service that starts later on a created container's -p port is noticed") {
  Fixture f;
  daemon::Reconciler r(LabPolicy(), f.docker, f.nft, f.store);
  std::vector<hostsock::HostSocket> host;
  r.SetHostSocketSource([&] { return Result<std::vector<hostsock::HostSocket>>(host); });
  f.docker.containers.push_back(Created("sneaky", {{"tcp", 22, "", 22}}));
  REQUIRE(r.Sync("create sneaky").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports") == std::vector<std::string>{"tcp . 22"});
  CHECK_FALSE(r.HostSocketsChanged());
  host = {{17, "0.0.0.0", 53, 0, ""}};  // not a -p port: no reason to sync
  CHECK_FALSE(r.HostSocketsChanged());
  host.push_back({6, "::", 22, 0, ""});  // sshd starts
  REQUIRE(r.HostSocketsChanged());
  REQUIRE(r.Sync("host sockets").ok());
  CHECK(Elements(f.nft.kernel, nft::Family::kInet, "ipo_netd", "proxy-ports").empty());
  CHECK_FALSE(r.HostSocketsChanged());
}
