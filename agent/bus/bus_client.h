// AgentClient: the caller's side of the control API (bus_api.h has the interface), used by
// ipo-netctl. Connect() picks the transport once: the system bus when org.ipo.NetD1 has an
// owner there, else the agent's private socket (bus_server.h); each call is synchronous.
//
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bus/bus_api.h"
#include "common/status.h"

namespace ipo::bus {

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
  // The Drops(after) document.
  Result<std::string> DropsJson(uint64_t after);
  Result<uint64_t> Generation();
  Result<std::vector<std::string>> Drift();

 private:
  struct Conn;
  explicit AgentClient(std::unique_ptr<Conn> conn);
  std::unique_ptr<Conn> conn_;
};

}  // namespace ipo::bus
