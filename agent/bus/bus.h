// The agent's control API: D-Bus (sd-bus) spoken peer to peer over a unix socket in the
// run directory (<run-dir>/bus.sock, root only), the way systemd's private socket works, so
// no bus daemon is needed. Object /com/ipo/NetD1, interface com.ipo.NetD1:
//   GetStatus() -> s   the status document as JSON (docs/status.md)
//   Resync()           ask the agent for a full sync with Docker and the kernel
//
// BusServer serves one client connection at a time from the thread that calls Run().
// BusClient makes one call per connection.
//
// Thread safety: BusServer::Run on one thread; the handlers it calls must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace ipo::bus {

inline constexpr const char* kObjectPath = "/com/ipo/NetD1";
inline constexpr const char* kInterface = "com.ipo.NetD1";

class BusServer {
 public:
  struct Handlers {
    std::function<std::string()> get_status;
    std::function<void()> resync;
  };
  // Binds and listens on `socket_path` (a stale socket file is replaced), mode 0600.
  static Result<std::unique_ptr<BusServer>> Listen(const std::string& socket_path, Handlers handlers);
  ~BusServer();
  BusServer(const BusServer&) = delete;
  BusServer& operator=(const BusServer&) = delete;

  // Serves until should_stop() returns true (polled at least every 200 ms).
  void Run(const std::function<bool()>& should_stop);

 private:
  BusServer(int fd, std::string path, Handlers handlers);
  void Serve(int conn_fd, const std::function<bool()>& should_stop);

  int fd_;
  std::string path_;
  Handlers handlers_;
};

// Calls GetStatus on the agent listening at socket_path. kUnavailable when nobody answers.
Result<std::string> CallGetStatus(const std::string& socket_path);
// Calls Resync.
Status CallResync(const std::string& socket_path);

}  // namespace ipo::bus
