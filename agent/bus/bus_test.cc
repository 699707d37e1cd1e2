// BusServer/AgentClient over the private peer-to-peer socket: methods, the PolicyRefused
// error, properties, the Drift signal and PropertiesChanged, several clients at once, and
// the euid check (a forked child that drops to uid 65534 is refused). One case runs a
// private, permissive dbus-daemon to prove the agent's own euid check on the bus path too
// (with the shipped policy the bus refuses first; tests/dbus covers that).
#include "bus/bus.h"

#include <grp.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace {

using ipo::Status;
using ipo::bus::AgentClient;
using ipo::bus::BusServer;

// A temporary directory with a running BusServer on <dir>/bus.sock (no system bus).
class ServerFixture {
 public:
  ServerFixture() {
    char tmpl[] = "/tmp/ipo-bus-test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    sock_ = dir_ + "/bus.sock";
  }
  ~ServerFixture() {
    Stop();
    std::filesystem::remove_all(dir_);
  }
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  void Start() {
    BusServer::Handlers h;
    h.status = [this] { return std::string("{\"health\":\"ok\",\"generation\":") + std::to_string(++statuses) + "}"; };
    h.reload = [this]() -> Status {
      ++reloads;
      std::lock_guard<std::mutex> lock(mu);
      return reload_answer;
    };
    h.resync = [this] { ++resyncs; };
    auto server = BusServer::Listen({.socket_path = sock_, .system_bus = system_bus}, h);
    REQUIRE(server.ok());
    server_ = std::move(*server);
    thread_ = std::thread([this] { server_->Run([this] { return stop_.load(); }); });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    server_.reset();
  }

  BusServer& server() { return *server_; }
  const std::string& sock() const { return sock_; }
  const std::string& dir() const { return dir_; }

  std::atomic<int> statuses{0};
  std::atomic<int> reloads{0};
  std::atomic<int> resyncs{0};
  std::mutex mu;
  Status reload_answer;  // GUARDED_BY(mu)
  bool system_bus = false;

 private:
  std::string dir_;
  std::string sock_;
  std::unique_ptr<BusServer> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

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
  // Fork before any thread exists; the child waits until the server runs, then drops to
  // nobody and calls. Its exit code reports what it saw, one bit per expectation.
  int go[2];
  REQUIRE(pipe(go) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(go[1]);
    char c = 0;
    if (read(go[0], &c, 1) != 1) _exit(100);
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
      _exit(101);
    int bad = 0;
    auto client = AgentClient::Connect(f.sock(), AgentClient::Via::kSocket);
    if (!client.ok()) _exit(102);
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
    _exit(bad);
  }
  close(go[0]);
  f.Start();
  // Let uid 65534 reach the socket, so that the server's own check is what refuses it.
  REQUIRE(chmod(f.dir().c_str(), 0755) == 0);
  REQUIRE(chmod(f.sock().c_str(), 0666) == 0);
  REQUIRE(write(go[1], "o", 1) == 1);
  close(go[1]);
  int wstatus = 0;
  REQUIRE(waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);
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

  int go[2];
  REQUIRE(pipe(go) == 0);
  pid_t child = fork();  // before any thread exists
  REQUIRE(child >= 0);
  if (child == 0) {
    close(go[1]);
    char c = 0;
    if (read(go[0], &c, 1) != 1) _exit(100);
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
      _exit(101);
    auto client = AgentClient::Connect("/nonexistent/bus.sock", AgentClient::Via::kSystemBus);
    if (!client.ok()) _exit(102);
    int bad = 0;
    auto status = client->StatusJson();
    if (status.ok() || status.status().code() != Status::Code::kPermission ||
        status.status().message().find("only root may call Status (caller euid 65534)") == std::string::npos)
      bad |= 1;
    if (client->Reload().code() != Status::Code::kPermission) bad |= 2;
    auto gen = client->Generation();
    if (!gen.ok() || *gen != 3) bad |= 4;
    _exit(bad);
  }
  close(go[0]);
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
  REQUIRE(write(go[1], "o", 1) == 1);
  close(go[1]);
  int wstatus = 0;
  REQUIRE(waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);
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
