// The agent's control API: D-Bus (sd-bus). One object, /org/ipo/NetD1, interface
// org.ipo.NetD1 (docs/dbus.md has the introspection XML):
//   Status() -> s          the status document as JSON (docs/status.md)
//   Reload()               re-read and validate the policy file; a bad one is refused with
//                          the error org.ipo.NetD1.Error.PolicyRefused (message: file:line: key)
//                          and the policy in force stays; a good one is queued for the
//                          reconcile loop, which applies it
//   Resync()               ask for a full sync with Docker and the kernel
//   property Generation t  the applied generation (emits PropertiesChanged)
//   property Drift as      the differences between the kernel and the applied ruleset as of
//                          the last drift check: non-empty from detection until repaired
//                          (emits PropertiesChanged)
//   signal Drift(as differences)   drift detected, sent before it is repaired
// Every method is refused (org.freedesktop.DBus.Error.AccessDenied) unless the caller's
// effective uid is 0; the properties and introspection are readable by whoever can reach
// the object (the same values are broadcast as signals anyway).
//
// The object is served on two transports at once, from the one thread that calls Run():
//   - the system bus (sd_bus_open_system: $DBUS_SYSTEM_BUS_ADDRESS or
//     /run/dbus/system_bus_socket) under the name org.ipo.NetD1 (systemd/org.ipo.NetD1.conf
//     is its bus policy). Optional: when no system bus answers, or the name cannot be owned,
//     that is logged once and retried quietly every `system_bus_retry`;
//   - a private peer-to-peer socket (<run-dir>/bus.sock, mode 0600) for hosts without a
//     system bus, any number of clients at a time (up to kMaxPeers).
//
// AgentClient is the caller's side (ipo-netctl): the system bus when the name has an owner
// there, else the private socket.
//
// Thread safety: BusServer::Run on one thread (the only one touching sd-bus objects);
// Notify*() from any thread (they queue work and wake the bus thread through an eventfd);
// the handlers are called on the bus thread and must be thread-safe with respect to the
// rest of the program. AgentClient: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace ipo::bus {

inline constexpr const char* kBusName = "org.ipo.NetD1";
inline constexpr const char* kObjectPath = "/org/ipo/NetD1";
inline constexpr const char* kInterface = "org.ipo.NetD1";
inline constexpr const char* kErrorPolicyRefused = "org.ipo.NetD1.Error.PolicyRefused";
inline constexpr size_t kMaxPeers = 32;

class BusServer {
 public:
  struct Handlers {
    std::function<std::string()> status;  // the status JSON
    // Validates the policy file and queues it. A non-OK kInvalidArgument Status is sent back
    // as PolicyRefused with its message; any other non-OK Status as ...Error.Failed.
    std::function<Status()> reload;
    std::function<void()> resync;
  };
  struct Options {
    std::string socket_path;  // the private socket; a stale file is replaced
    bool system_bus = true;   // also serve org.ipo.NetD1 on the system bus
    std::chrono::milliseconds system_bus_retry{std::chrono::seconds(30)};
  };

  // Binds and listens on options.socket_path (mode 0600). The system bus is connected by Run().
  static Result<std::unique_ptr<BusServer>> Listen(Options options, Handlers handlers);
  ~BusServer();
  BusServer(const BusServer&) = delete;
  BusServer& operator=(const BusServer&) = delete;

  // Serves both transports until should_stop() returns true (polled at least every 200 ms).
  void Run(const std::function<bool()>& should_stop);

  // Emits the Drift signal with `differences` and sets the Drift property to them.
  void NotifyDrift(std::vector<std::string> differences);
  // Sets Generation and Drift; PropertiesChanged is emitted for those that changed.
  void NotifyState(uint64_t generation, std::vector<std::string> drift);
  // Sets Generation only.
  void NotifyGeneration(uint64_t generation);

 private:
  struct Impl;
  explicit BusServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The calling side. Connect() picks the transport once; each call is synchronous.
class AgentClient {
 public:
  enum class Via { kAuto, kSystemBus, kSocket };

  // kAuto: the system bus when org.ipo.NetD1 has an owner there, else socket_path.
  // kUnavailable when the agent answers on neither.
  static Result<AgentClient> Connect(const std::string& socket_path, Via via = Via::kAuto);
  ~AgentClient();
  AgentClient(AgentClient&&) noexcept;
  AgentClient& operator=(AgentClient&&) noexcept;

  // "system-bus" or "socket".
  const char* transport() const;
  // "system bus name org.ipo.NetD1" or "socket /run/ipo-netd/bus.sock", for messages.
  const std::string& where() const;

  // Errors: kPermission when refused (AccessDenied), kInvalidArgument for PolicyRefused (its
  // message), kUnavailable when the agent does not answer, kInternal for a malformed reply.
  Result<std::string> StatusJson();
  Status Reload();
  Status Resync();
  Result<uint64_t> Generation();
  Result<std::vector<std::string>> Drift();

 private:
  struct Conn;
  explicit AgentClient(std::unique_ptr<Conn> conn);
  std::unique_ptr<Conn> conn_;
};

}  // namespace ipo::bus
