// BusServer: the agent's side of the control API (bus_api.h has the interface).
//
// The object is served on two transports at once, from the one thread that calls Run():
//   - the system bus (sd_bus_open_system: $DBUS_SYSTEM_BUS_ADDRESS or
//     /run/dbus/system_bus_socket) under the name org.ipo.NetD1 (systemd/org.ipo.NetD1.conf
//     is its bus policy). Optional: when no system bus answers, or the name cannot be owned,
//     that is logged once and retried quietly every `system_bus_retry`;
//   - a private peer-to-peer socket (<run-dir>/bus.sock, mode 0600) for hosts without a
//     system bus, any number of clients at a time (up to kMaxPeers).
//
// Thread safety: Run on one thread (the only one touching sd-bus objects); Notify*() from any
// thread (they queue work and wake the bus thread through an eventfd); the handlers are
// called on the bus thread and must be thread-safe with respect to the rest of the program.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bus/bus_api.h"
#include "common/status.h"

namespace ipo::bus {

inline constexpr size_t kMaxPeers = 32;

class BusServer {
 public:
  struct Handlers {
    std::function<std::string()> status;  // the status JSON
    // Validates the policy file and queues it. A non-OK kInvalidArgument Status is sent back
    // as PolicyRefused with its message; any other non-OK Status as ...Error.Failed.
    std::function<Status()> reload;
    std::function<void()> resync;
    // The Drops(after) document: dropped packets logged after sequence number `after`
    // (droplog/drop_watch.h). nullptr: the method answers with an empty document.
    std::function<std::string(uint64_t after)> drops;
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

}  // namespace ipo::bus
