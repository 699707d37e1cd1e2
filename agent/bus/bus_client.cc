#include "bus/bus_client.h"

#include <optional>

#include <systemd/sd-bus.h>

#include <cstdlib>

#include "bus/sd_bus_handles.h"

namespace ipo::bus {

struct AgentClient::Conn {
  BusPtr bus;
  const char* transport = "";
  std::string where;
  const char* destination = nullptr;  // the bus name on the system bus; none peer to peer
};

AgentClient::AgentClient(std::unique_ptr<Conn> conn) : conn_(std::move(conn)) {}
AgentClient::~AgentClient() = default;
AgentClient::AgentClient(AgentClient&&) noexcept = default;
AgentClient& AgentClient::operator=(AgentClient&&) noexcept = default;

const char* AgentClient::transport() const { return conn_->transport; }
const std::string& AgentClient::where() const { return conn_->where; }

namespace {

// The system bus, when org.ipo.NetD1 has an owner there.
Result<BusPtr> ConnectSystem() {
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);
  BusPtr b(raw);
  if (r < 0) return Status::Unavailable("no system bus (" + Errno(r) + ")");
  sd_bus_set_method_call_timeout(b.get(), 10000000);
  BusError error;
  sd_bus_message* reply_raw = nullptr;
  r = sd_bus_call_method(b.get(), "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                         "NameHasOwner", error.get(), &reply_raw, "s", kBusName);
  MessagePtr reply(reply_raw);
  if (r < 0) return Status::Unavailable("system bus: " + error.message(r));
  int has = 0;
  r = sd_bus_message_read(reply.get(), "b", &has);
  if (r < 0) return Status::Internal("system bus: bad NameHasOwner reply");
  if (!has) return Status::Unavailable(std::string("system bus: nobody owns ") + kBusName);
  return b;
}

Result<BusPtr> ConnectSocket(const std::string& socket_path) {
  sd_bus* raw = nullptr;
  int r = sd_bus_new(&raw);
  if (r < 0) return Status::Internal("sd_bus_new: " + Errno(r));
  BusPtr b(raw);
  std::string address = "unix:path=" + socket_path;
  r = sd_bus_set_address(b.get(), address.c_str());
  if (r >= 0) r = sd_bus_start(b.get());
  if (r < 0) return Status::Unavailable(socket_path + ": the agent does not answer (" + Errno(r) + ")");
  sd_bus_set_method_call_timeout(b.get(), 10000000);
  return b;
}

}  // namespace

Result<AgentClient> AgentClient::Connect(const std::string& socket_path, Via via) {
  auto conn = std::make_unique<Conn>();
  std::string system_why;
  if (via != Via::kSocket) {
    auto b = ConnectSystem();
    if (b.ok()) {
      conn->bus = std::move(*b);
      conn->transport = "system-bus";
      conn->where = std::string("system bus name ") + kBusName;
      conn->destination = kBusName;
      return AgentClient(std::move(conn));
    }
    if (via == Via::kSystemBus) return b.status();
    system_why = b.status().message();
  }
  auto b = ConnectSocket(socket_path);
  if (!b.ok()) {
    if (system_why.empty()) return b.status();
    return Status::Unavailable(b.status().message() + "; " + system_why);
  }
  conn->bus = std::move(*b);
  conn->transport = "socket";
  conn->where = "socket " + socket_path;
  return AgentClient(std::move(conn));
}

namespace {

// Calls `method` with no arguments, or with one uint64 `arg`; maps D-Bus errors to Status
// codes.
Result<MessagePtr> Call(sd_bus* bus, const char* destination, const std::string& where, const char* method,
                        std::optional<uint64_t> arg = std::nullopt) {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = arg ? sd_bus_call_method(bus, destination, kObjectPath, kInterface, method, error.get(), &raw, "t", *arg)
              : sd_bus_call_method(bus, destination, kObjectPath, kInterface, method, error.get(), &raw, "");
  MessagePtr reply(raw);
  if (r >= 0) return reply;
  std::string msg = error.message(r);
  if (error.has_name(kErrorPolicyRefused)) return Status::InvalidArgument(msg);
  if (error.has_name(SD_BUS_ERROR_ACCESS_DENIED)) return Status::Permission(where + ": " + method + ": " + msg);
  return Status::Unavailable(where + ": " + method + ": " + msg);
}

Result<MessagePtr> GetProperty(sd_bus* bus, const char* destination, const std::string& where, const char* name,
                               const char* type) {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_get_property(bus, destination, kObjectPath, kInterface, name, error.get(), &raw, type);
  MessagePtr reply(raw);
  if (r < 0) {
    std::string msg = where + ": property " + name + ": " + error.message(r);
    if (error.has_name(SD_BUS_ERROR_ACCESS_DENIED)) return Status::Permission(msg);
    return Status::Unavailable(msg);
  }
  return reply;
}

}  // namespace

Result<std::string> AgentClient::StatusJson() {
  auto reply = Call(conn_->bus.get(), conn_->destination, conn_->where, "Status");
  if (!reply.ok()) return reply.status();
  const char* json = nullptr;
  if (sd_bus_message_read(reply->get(), "s", &json) < 0) return Status::Internal(conn_->where + ": Status: bad reply");
  return std::string(json);
}

Result<std::string> AgentClient::DropsJson(uint64_t after) {
  auto reply = Call(conn_->bus.get(), conn_->destination, conn_->where, "Drops", after);
  if (!reply.ok()) return reply.status();
  const char* json = nullptr;
  if (sd_bus_message_read(reply->get(), "s", &json) < 0) return Status::Internal(conn_->where + ": Drops: bad reply");
  return std::string(json);
}

Status AgentClient::Reload() {
  auto reply = Call(conn_->bus.get(), conn_->destination, conn_->where, "Reload");
  return reply.ok() ? Status::Ok() : reply.status();
}

Status AgentClient::Resync() {
  auto reply = Call(conn_->bus.get(), conn_->destination, conn_->where, "Resync");
  return reply.ok() ? Status::Ok() : reply.status();
}

Result<uint64_t> AgentClient::Generation() {
  auto reply = GetProperty(conn_->bus.get(), conn_->destination, conn_->where, "Generation", "t");
  if (!reply.ok()) return reply.status();
  uint64_t g = 0;
  if (sd_bus_message_read(reply->get(), "t", &g) < 0) return Status::Internal(conn_->where + ": Generation: bad reply");
  return g;
}

Result<std::vector<std::string>> AgentClient::Drift() {
  auto reply = GetProperty(conn_->bus.get(), conn_->destination, conn_->where, "Drift", "as");
  if (!reply.ok()) return reply.status();
  char** strv = nullptr;
  if (sd_bus_message_read_strv(reply->get(), &strv) < 0) return Status::Internal(conn_->where + ": Drift: bad reply");
  std::vector<std::string> out;
  for (char** p = strv; p && *p; ++p) {
    out.emplace_back(*p);
    free(*p);
  }
  free(strv);
  return out;
}

}  // namespace ipo::bus
