#include "daemon/host_sockets.h"

#include "daemon/test_fixture.h"

using namespace ipo;
using namespace ipo::daemon::testfix;

TEST_CASE("only a change on a port a container binds counts") {
  daemon::HostSockets sockets;
  std::vector<hostsock::HostSocket> host;
  std::vector<docker::ContainerInfo> containers = {Created("sneaky", {{"tcp", 22, "", 22}})};
  CHECK_FALSE(sockets.Changed(containers));  // no source: nothing is known
  sockets.SetSource([&] { return Result<std::vector<hostsock::HostSocket>>(host); });
  sockets.Read();
  CHECK_FALSE(sockets.Changed(containers));
  host = {{17, "0.0.0.0", 53, 0, ""}};  // not a -p port
  CHECK_FALSE(sockets.Changed(containers));
  host.push_back({6, "::", 22, 0, ""});  // sshd starts
  CHECK(sockets.Changed(containers));
  sockets.Read();
  CHECK_FALSE(sockets.Changed(containers));
  CHECK(sockets.last().size() == 2);
}

TEST_CASE("a failed read keeps the last list and is no change") {
  daemon::HostSockets sockets;
  bool fail = false;
  sockets.SetSource([&]() -> Result<std::vector<hostsock::HostSocket>> {
    if (fail) return Status::Unavailable("sock_diag: injected failure");
    return std::vector<hostsock::HostSocket>{{6, "::", 22, 0, ""}};
  });
  sockets.Read();
  fail = true;
  sockets.Read();
  CHECK(sockets.last() == std::vector<hostsock::HostSocket>{{6, "::", 22, 0, ""}});
  CHECK_FALSE(sockets.Changed({Created("sneaky", {{"tcp", 22, "", 22}})}));
}
