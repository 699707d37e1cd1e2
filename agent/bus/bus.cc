#include "bus/bus.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace ipo::bus {
namespace {

// Owns an sd_bus connection.
struct BusDeleter {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
using BusPtr = std::unique_ptr<sd_bus, BusDeleter>;

struct MessageDeleter {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageDeleter>;

// Frees an sd_bus_error on scope exit.
class BusError {
 public:
  BusError() = default;
  ~BusError() { sd_bus_error_free(&e_); }
  BusError(const BusError&) = delete;
  BusError& operator=(const BusError&) = delete;
  sd_bus_error* get() { return &e_; }
  std::string message(int r) const {
    if (e_.message) return e_.message;
    return std::strerror(-r);
  }

 private:
  sd_bus_error e_{};  // SD_BUS_ERROR_NULL, without the C compound literal
};

int OnGetStatus(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* h = static_cast<BusServer::Handlers*>(userdata);
  std::string json = h->get_status();
  return sd_bus_reply_method_return(m, "s", json.c_str());
}

int OnResync(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* h = static_cast<BusServer::Handlers*>(userdata);
  h->resync();
  return sd_bus_reply_method_return(m, "");
}

const sd_bus_vtable kVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("GetStatus", "", "s", OnGetStatus, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Resync", "", "", OnResync, 0),
    SD_BUS_VTABLE_END,
};

Result<BusPtr> Connect(const std::string& socket_path) {
  sd_bus* raw = nullptr;
  int r = sd_bus_new(&raw);
  if (r < 0) return Status::Internal(std::string("sd_bus_new: ") + std::strerror(-r));
  BusPtr bus(raw);
  std::string address = "unix:path=" + socket_path;
  r = sd_bus_set_address(bus.get(), address.c_str());
  if (r >= 0) r = sd_bus_start(bus.get());
  if (r < 0) return Status::Unavailable(socket_path + ": the agent does not answer (" + std::strerror(-r) + ")");
  return bus;
}

}  // namespace

BusServer::BusServer(int fd, std::string path, Handlers handlers)
    : fd_(fd), path_(std::move(path)), handlers_(std::move(handlers)) {}

BusServer::~BusServer() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

Result<std::unique_ptr<BusServer>> BusServer::Listen(const std::string& socket_path, Handlers handlers) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) return Status::InvalidArgument(socket_path + ": path too long for a unix socket");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal(std::string("socket: ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  ::unlink(socket_path.c_str());
  mode_t old = ::umask(0177);
  int r = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (r != 0 || ::listen(fd, 8) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return Status::Internal(socket_path + ": cannot listen: " + err);
  }
  return std::unique_ptr<BusServer>(new BusServer(fd, socket_path, std::move(handlers)));
}

void BusServer::Run(const std::function<bool()>& should_stop) {
  while (!should_stop()) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r <= 0) continue;
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    Serve(conn, should_stop);
  }
}

void BusServer::Serve(int conn_fd, const std::function<bool()>& should_stop) {
  sd_bus* raw = nullptr;
  if (sd_bus_new(&raw) < 0) {
    ::close(conn_fd);
    return;
  }
  BusPtr bus(raw);
  sd_id128_t id;
  sd_id128_randomize(&id);
  if (sd_bus_set_fd(bus.get(), conn_fd, conn_fd) < 0 || sd_bus_set_server(bus.get(), 1, id) < 0 ||
      sd_bus_add_object_vtable(bus.get(), nullptr, kObjectPath, kInterface, kVtable, &handlers_) < 0 ||
      sd_bus_start(bus.get()) < 0) {
    return;  // the bus owns conn_fd now and closes it
  }
  // One client at a time, for at most a few seconds: the CLI makes one call and leaves.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!should_stop() && std::chrono::steady_clock::now() < deadline) {
    int r = sd_bus_process(bus.get(), nullptr);
    if (r < 0) break;  // the client went away
    if (r > 0) continue;
    if (sd_bus_wait(bus.get(), 200000) < 0) break;
  }
}

Result<std::string> CallGetStatus(const std::string& socket_path) {
  auto bus = Connect(socket_path);
  if (!bus.ok()) return bus.status();
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus->get(), nullptr, kObjectPath, kInterface, "GetStatus", error.get(), &raw, "");
  MessagePtr reply(raw);
  if (r < 0) return Status::Unavailable(socket_path + ": GetStatus: " + error.message(r));
  const char* json = nullptr;
  r = sd_bus_message_read(reply.get(), "s", &json);
  if (r < 0) return Status::Internal(socket_path + ": GetStatus: bad reply");
  return std::string(json);
}

Status CallResync(const std::string& socket_path) {
  auto bus = Connect(socket_path);
  if (!bus.ok()) return bus.status();
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus->get(), nullptr, kObjectPath, kInterface, "Resync", error.get(), &raw, "");
  MessagePtr reply(raw);
  if (r < 0) return Status::Unavailable(socket_path + ": Resync: " + error.message(r));
  return Status::Ok();
}

}  // namespace ipo::bus
