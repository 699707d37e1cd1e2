// BusServer/AgentClient over the private peer-to-peer socket: methods, the PolicyRefused
// error, properties, the Drift signal and PropertiesChanged, several clients at once, and
// the euid check (a forked child that drops to uid 65534 is refused). The system bus path is
// in bus_system_bus_test.cc.
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "bus/bus_client.h"
#include "bus/bus_server.h"
#include "bus/bus_testing.h"

namespace ipo::bus::testing {
namespace {

// A raw sd-bus peer connection that records the Drift signals and PropertiesChanged.
class Listener {
 public:
  explicit Listener(const std::string& sock) {
    REQUIRE(sd_bus_new(&bus_) >= 0);
    std::string address = "unix:path=" + sock;
    REQUIRE(sd_bus_set_address(bus_, address.c_str()) >= 0);
    REQUIRE(sd_bus_start(bus_) >= 0);
    REQUIRE(sd_bus_match_signal(bus_, nullptr, nullptr, ipo::bus::kObjectPath, ipo::bus::kInterface, "Drift",
                                &Listener::OnDrift, this) >= 0);
    REQUIRE(sd_bus_match_signal(bus_, nullptr, nullptr, ipo::bus::kObjectPath, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", &Listener::OnChanged, this) >= 0);
    // One round trip, so the server has accepted us before anything is emitted.
    sd_bus_error e{};
    sd_bus_message* reply = nullptr;
    int r = sd_bus_get_property(bus_, nullptr, ipo::bus::kObjectPath, ipo::bus::kInterface, "Generation", &e, &reply,
                                "t");
    sd_bus_message_unref(reply);
    sd_bus_error_free(&e);
    REQUIRE(r >= 0);
  }
  ~Listener() { sd_bus_flush_close_unref(bus_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Processes messages until pred() holds or 5 s pass.
  bool WaitFor(const std::function<bool()>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      int r = sd_bus_process(bus_, nullptr);
      if (r < 0) return false;
      if (r == 0) sd_bus_wait(bus_, 100000);
    }
    return true;
  }

  std::vector<std::vector<std::string>> drift_signals;
  std::vector<std::string> changed;  // "Generation=5", "Drift=a,b"

 private:
  static std::vector<std::string> ReadStrv(sd_bus_message* m) {
    char** strv = nullptr;
    std::vector<std::string> out;
    if (sd_bus_message_read_strv(m, &strv) < 0) return out;
    for (char** p = strv; p && *p; ++p) {
      out.emplace_back(*p);
      free(*p);
    }
    free(strv);
    return out;
  }
  static int OnDrift(sd_bus_message* m, void* userdata, sd_bus_error*) {
    static_cast<Listener*>(userdata)->drift_signals.push_back(ReadStrv(m));
    return 0;
  }
  static int OnChanged(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* self = static_cast<Listener*>(userdata);
    const char* iface = nullptr;
    if (sd_bus_message_read(m, "s", &iface) < 0) return 0;
    if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return 0;
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
      const char* name = nullptr;
      sd_bus_message_read(m, "s", &name);
      std::string entry = std::string(iface) + "." + name + "=";
      if (std::string(name) == "Generation") {
        uint64_t g = 0;
        sd_bus_message_read(m, "v", "t", &g);
        entry += std::to_string(g);
      } else {
        sd_bus_message_enter_container(m, 'v', "as");
        std::string joined;
        for (const auto& s : ReadStrv(m)) joined += (joined.empty() ? "" : ",") + s;
        entry += joined;
        sd_bus_message_exit_container(m);
      }
      sd_bus_message_exit_container(m);
      self->changed.push_back(entry);
    }
    return 0;
  }
  sd_bus* bus_ = nullptr;
};

}  // namespace

TEST_CASE("Status, Reload and Resync round-trip over the peer-to-peer socket") {
  ServerFixture f;
  f.Start();
  auto client = AgentClient::Connect(f.sock(), AgentClient::Via::kSocket);
  INFO((client.ok() ? std::string() : client.status().message()));
  REQUIRE(client.ok());
  CHECK(std::string(client->transport()) == "socket");
  CHECK(client->where() == "socket " + f.sock());

  auto status = client->StatusJson();
  REQUIRE(status.ok());
  CHECK(*status == "{\"health\":\"ok\",\"generation\":1}");
  REQUIRE(client->Resync().ok());
  CHECK(f.resyncs == 1);
  REQUIRE(client->Reload().ok());
  CHECK(f.reloads == 1);

  {
    std::lock_guard<std::mutex> lock(f.mu);
    f.reload_answer = Status::InvalidArgument("/etc/ipo-netd/policy.json:3: lan: expected an object");
  }
  Status refused = client->Reload();
  CHECK(refused.code() == Status::Code::kInvalidArgument);
  CHECK(refused.message() == "/etc/ipo-netd/policy.json:3: lan: expected an object");
  {
    std::lock_guard<std::mutex> lock(f.mu);
    f.reload_answer = Status::Internal("disk on fire");
  }
  Status failed = client->Reload();
  CHECK(failed.code() == Status::Code::kUnavailable);
  CHECK(failed.message().find("disk on fire") != std::string::npos);

  // Several clients at once: the first stays connected while others come and go.
  for (int i = 0; i < 5; ++i) {
    auto other = AgentClient::Connect(f.sock(), AgentClient::Via::kSocket);
    REQUIRE(other.ok());
    REQUIRE(other->StatusJson().ok());
  }
  REQUIRE(client->StatusJson().ok());

  f.Stop();
  auto none = AgentClient::Connect(f.sock(), AgentClient::Via::kSocket);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Status::Code::kUnavailable);
}

TEST_CASE("Generation and Drift properties follow NotifyState and emit PropertiesChanged; NotifyDrift signals") {
  ServerFixture f;
  f.Start();
  Listener listener(f.sock());
  auto client = AgentClient::Connect(f.sock(), AgentClient::Via::kSocket);
  REQUIRE(client.ok());
  CHECK(*client->Generation() == 0);
  CHECK(client->Drift()->empty());

  f.server().NotifyState(7, {});
  REQUIRE(listener.WaitFor([&] { return !listener.changed.empty(); }));
  CHECK(listener.changed == std::vector<std::string>{"org.ipo.NetD1.Generation=7"});
  CHECK(*client->Generation() == 7);

  f.server().NotifyState(7, {});  // unchanged: nothing emitted
  f.server().NotifyDrift({"inet ipo_netd: chain filter-input missing", "inet ipo_netd: set lan-allow-v4: missing"});
  REQUIRE(listener.WaitFor([&] { return !listener.drift_signals.empty() && listener.changed.size() >= 2; }));
  CHECK(listener.drift_signals.front() ==
        std::vector<std::string>{"inet ipo_netd: chain filter-input missing", "inet ipo_netd: set lan-allow-v4: missing"});
  CHECK(listener.changed.at(1) ==
        "org.ipo.NetD1.Drift=inet ipo_netd: chain filter-input missing,inet ipo_netd: set lan-allow-v4: missing");
  CHECK(client->Drift()->size() == 2);

  // The repair clears it: Drift goes back to empty and Generation moves on.
  f.server().NotifyState(8, {});
  REQUIRE(listener.WaitFor([&] { return listener.changed.size() >= 4; }));
  CHECK(listener.changed.at(2) == "org.ipo.NetD1.Generation=8");
  CHECK(listener.changed.at(3) == "org.ipo.NetD1.Drift=");
  CHECK(client->Drift()->empty());
  CHECK(listener.drift_signals.size() == 1);
}

TEST_CASE("A caller whose effective uid is not 0 is refused, even when it can reach the socket") {
  if (geteuid() != 0) {
    WARN("skipped: needs root to drop to uid 65534");
    return;
  }
  ServerFixture f;
  // The child waits until the server runs, then drops to nobody and calls.
  NobodyChild child([&] {
    int bad = 0;
    auto client = AgentClient::Connect(f.sock(), AgentClient::Via::kSocket);
    if (!client.ok()) return 102;
    auto status = client->StatusJson();
    if (status.ok() || status.status().code() != Status::Code::kPermission ||
        status.status().message().find("only root may call Status (caller euid 65534)") == std::string::npos)
      bad |= 1;
    Status reload = client->Reload();
    if (reload.code() != Status::Code::kPermission) bad |= 2;
    if (client->Resync().code() != Status::Code::kPermission) bad |= 4;
    // Properties are readable (the same values are broadcast as signals).
    auto gen = client->Generation();
    if (!gen.ok() || *gen != 0) bad |= 8;
    return bad;
  });
  f.Start();
  // Let uid 65534 reach the socket, so that the server's own check is what refuses it.
  REQUIRE(chmod(f.dir().c_str(), 0755) == 0);
  REQUIRE(chmod(f.sock().c_str(), 0666) == 0);
  CHECK(child.Finish() == 0);
  CHECK(f.statuses == 0);
  CHECK(f.reloads == 0);
  CHECK(f.resyncs == 0);

  // Root still gets through.
  auto root = AgentClient::Connect(f.sock(), AgentClient::Via::kSocket);
  REQUIRE(root.ok());
  CHECK(root->StatusJson().ok());
}

TEST_CASE("The private socket is mode 0600: other users cannot even connect") {
  ServerFixture f;
  f.Start();
  struct stat st {};
  REQUIRE(stat(f.sock().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

}  // namespace ipo::bus::testing
