// The control API on the system bus: the agent owns org.ipo.NetD1 on a private, permissive
// dbus-daemon (so that the agent's own euid check is what refuses a non-root caller; with the
// shipped bus policy the bus refuses first, which tests/dbus covers), and AgentClient's
// automatic choice of transport.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bus/bus_client.h"
#include "bus/bus_server.h"
#include "bus/bus_testing.h"

namespace ipo::bus::testing {
namespace {

// A dbus-daemon that lets everyone own and call everything, on <dir>/system_bus_socket.
class PermissiveBus {
 public:
  explicit PermissiveBus(const std::string& dir) : sock_(dir + "/system_bus_socket") {
    std::string conf = dir + "/bus.conf";
    std::ofstream(conf) << "<busconfig><type>system</type><listen>unix:path=" << sock_
                        << "</listen><auth>EXTERNAL</auth><policy context=\"default\"><allow user=\"*\"/>"
                           "<allow own=\"*\"/><allow send_destination=\"*\"/><allow receive_sender=\"*\"/>"
                           "</policy></busconfig>\n";
    std::string arg = "--config-file=" + conf;
    const char* argv[] = {"dbus-daemon", arg.c_str(), "--nofork", "--nopidfile", nullptr};
    if (posix_spawnp(&pid_, "dbus-daemon", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) pid_ = -1;
    for (int i = 0; pid_ > 0 && i < 100 && !std::filesystem::exists(sock_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~PermissiveBus() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  PermissiveBus(const PermissiveBus&) = delete;
  PermissiveBus& operator=(const PermissiveBus&) = delete;
  bool up() const { return pid_ > 0 && std::filesystem::exists(sock_); }
  std::string address() const { return "unix:path=" + sock_; }

 private:
  std::string sock_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("On the system bus the agent owns org.ipo.NetD1 and refuses a non-root caller itself") {
  if (geteuid() != 0 || std::system("command -v dbus-daemon >/dev/null 2>&1") != 0) {
    WARN("skipped: needs root and dbus-daemon");
    return;
  }
  ServerFixture f;
  REQUIRE(chmod(f.dir().c_str(), 0755) == 0);
  PermissiveBus bus(f.dir());
  REQUIRE(bus.up());
  setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address().c_str(), 1);

  NobodyChild child([] {  // before any thread exists
    auto client = AgentClient::Connect("/nonexistent/bus.sock", AgentClient::Via::kSystemBus);
    if (!client.ok()) return 102;
    int bad = 0;
    auto status = client->StatusJson();
    if (status.ok() || status.status().code() != Status::Code::kPermission ||
        status.status().message().find("only root may call Status (caller euid 65534)") == std::string::npos)
      bad |= 1;
    if (client->Reload().code() != Status::Code::kPermission) bad |= 2;
    auto gen = client->Generation();
    if (!gen.ok() || *gen != 3) bad |= 4;
    return bad;
  });
  f.system_bus = true;
  f.Start();
  f.server().NotifyGeneration(3);
  // Wait until the name is owned and the generation published.
  bool owned = false;
  for (int i = 0; i < 100 && !owned; ++i) {
    auto c = AgentClient::Connect("/nonexistent/bus.sock", AgentClient::Via::kSystemBus);
    owned = c.ok() && c->Generation().ok() && *c->Generation() == 3;
    if (!owned) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(owned);
  CHECK(child.Finish() == 0);
  CHECK(f.statuses == 0);
  CHECK(f.reloads == 0);

  // Root: auto picks the system bus; the same methods work.
  auto root = AgentClient::Connect(f.sock());
  REQUIRE(root.ok());
  CHECK(std::string(root->transport()) == "system-bus");
  CHECK(root->where() == "system bus name org.ipo.NetD1");
  CHECK(root->StatusJson().ok());
  CHECK(f.statuses == 1);
  f.Stop();
  // The name is gone with the server: auto falls back to the socket, which is gone too.
  auto after = AgentClient::Connect(f.sock());
  REQUIRE_FALSE(after.ok());
  CHECK(after.status().message().find("nobody owns org.ipo.NetD1") != std::string::npos);
  unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

}  // namespace ipo::bus::testing
