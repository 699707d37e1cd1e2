#include "bus/bus_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <spdlog/spdlog.h>

#include "bus/sd_bus_handles.h"

namespace ipo::bus {
namespace {

using Clock = std::chrono::steady_clock;

// A NULL-terminated char* view of strings, for sd_bus_message_append_strv.
std::vector<char*> Strv(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

struct BusServer::Impl {
  struct Pending {
    enum class Kind { kDriftSignal, kGeneration, kDrift } kind;
    uint64_t generation = 0;
    std::vector<std::string> strings;
  };

  Options options;
  Handlers handlers;
  int listen_fd = -1;
  int event_fd = -1;

  std::mutex mu;
  std::deque<Pending> pending;  // GUARDED_BY(mu)

  // Bus thread only.
  uint64_t generation = 0;
  std::vector<std::string> drift;
  BusPtr system;
  bool system_down_logged = false;
  Clock::time_point next_system_try{};
  std::vector<BusPtr> peers;

  ~Impl() {
    if (listen_fd >= 0) {
      ::close(listen_fd);
      ::unlink(options.socket_path.c_str());
    }
    if (event_fd >= 0) ::close(event_fd);
  }

  void Queue(Pending p) {
    {
      std::lock_guard<std::mutex> lock(mu);
      pending.push_back(std::move(p));
    }
    uint64_t one = 1;
    ssize_t n = ::write(event_fd, &one, sizeof one);
    (void)n;  // EAGAIN only when the counter is saturated: the thread is woken anyway
  }

  std::vector<sd_bus*> Buses() {
    std::vector<sd_bus*> out;
    if (system) out.push_back(system.get());
    for (auto& p : peers) out.push_back(p.get());
    return out;
  }

  void EmitDriftSignal(const std::vector<std::string>& differences) {
    auto strv = Strv(differences);
    for (sd_bus* b : Buses()) {
      sd_bus_message* raw = nullptr;
      int r = sd_bus_message_new_signal(b, &raw, kObjectPath, kInterface, "Drift");
      MessagePtr m(raw);
      if (r >= 0) r = sd_bus_message_append_strv(m.get(), strv.data());
      if (r >= 0) r = sd_bus_send(b, m.get(), nullptr);
      if (r < 0) spdlog::debug("bus: Drift signal: {}", Errno(r));
    }
  }

  void EmitChanged(const char* property) {
    for (sd_bus* b : Buses()) {
      int r = sd_bus_emit_properties_changed(b, kObjectPath, kInterface, property, nullptr);
      if (r < 0) spdlog::debug("bus: PropertiesChanged {}: {}", property, Errno(r));
    }
  }

  void DrainQueue() {
    uint64_t count = 0;
    ssize_t n = ::read(event_fd, &count, sizeof count);
    (void)n;
    std::deque<Pending> work;
    {
      std::lock_guard<std::mutex> lock(mu);
      work.swap(pending);
    }
    for (auto& p : work) {
      switch (p.kind) {
        case Pending::Kind::kDriftSignal:
          EmitDriftSignal(p.strings);
          if (drift != p.strings) {
            drift = std::move(p.strings);
            EmitChanged("Drift");
          }
          break;
        case Pending::Kind::kGeneration:
          if (generation != p.generation) {
            generation = p.generation;
            EmitChanged("Generation");
          }
          break;
        case Pending::Kind::kDrift:
          if (drift != p.strings) {
            drift = std::move(p.strings);
            EmitChanged("Drift");
          }
          break;
      }
    }
  }

  static int OnStatus(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int OnReload(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int OnResync(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int OnDrops(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int GetGeneration(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                           sd_bus_error*);
  static int GetDrift(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                      sd_bus_error*);
  static const sd_bus_vtable kVtable[];

  Status AddObject(sd_bus* b);
  void ConnectSystemBus();
  void AcceptPeer();
  void ProcessAll();
};

namespace {

// Refuses the call unless the sender's effective uid is 0. On the system bus the daemon
// tells the sender's credentials (augmented from /proc for the euid); on the private
// socket they come from SO_PEERCRED.
int RequireRoot(sd_bus_message* m, sd_bus_error* error) {
  sd_bus_creds* raw = nullptr;
  int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &raw);
  CredsPtr creds(raw);
  uid_t euid = 0;
  if (r >= 0) r = sd_bus_creds_get_euid(creds.get(), &euid);
  const char* member = sd_bus_message_get_member(m);
  if (r < 0) {
    spdlog::warn("bus: {} refused: the caller's uid is unknown ({})", member ? member : "?", Errno(r));
    return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "%s: cannot determine the caller's user id",
                             member ? member : "call");
  }
  if (euid != 0) {
    spdlog::warn("bus: {} refused: caller euid {} is not root", member ? member : "?", euid);
    return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "only root may call %s (caller euid %u)",
                             member ? member : "this method", static_cast<unsigned>(euid));
  }
  return 0;
}

}  // namespace

int BusServer::Impl::OnStatus(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  if (int r = RequireRoot(m, error); r < 0) return r;
  auto* impl = static_cast<Impl*>(userdata);
  std::string json = impl->handlers.status();
  return sd_bus_reply_method_return(m, "s", json.c_str());
}

int BusServer::Impl::OnReload(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  if (int r = RequireRoot(m, error); r < 0) return r;
  auto* impl = static_cast<Impl*>(userdata);
  Status st = impl->handlers.reload();
  if (!st.ok()) {
    spdlog::warn("bus: Reload refused: {}", st.message());
    if (st.code() == Status::Code::kInvalidArgument)
      return sd_bus_error_set(error, kErrorPolicyRefused, st.message().c_str());
    return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, st.message().c_str());
  }
  return sd_bus_reply_method_return(m, "");
}

int BusServer::Impl::OnResync(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  if (int r = RequireRoot(m, error); r < 0) return r;
  auto* impl = static_cast<Impl*>(userdata);
  impl->handlers.resync();
  return sd_bus_reply_method_return(m, "");
}

int BusServer::Impl::OnDrops(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  if (int r = RequireRoot(m, error); r < 0) return r;
  uint64_t after = 0;
  if (int r = sd_bus_message_read(m, "t", &after); r < 0) return r;
  auto* impl = static_cast<Impl*>(userdata);
  std::string json = impl->handlers.drops ? impl->handlers.drops(after) : std::string("{}");
  return sd_bus_reply_method_return(m, "s", json.c_str());
}

int BusServer::Impl::GetGeneration(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                                   void* userdata, sd_bus_error*) {
  auto* impl = static_cast<Impl*>(userdata);
  return sd_bus_message_append(reply, "t", impl->generation);
}

int BusServer::Impl::GetDrift(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                              sd_bus_error*) {
  auto* impl = static_cast<Impl*>(userdata);
  auto strv = Strv(impl->drift);
  return sd_bus_message_append_strv(reply, strv.data());
}

// SD_BUS_VTABLE_UNPRIVILEGED: sd-bus's own check (CAP_SYS_ADMIN, guessed from /proc) is
// replaced by RequireRoot, so the rule is exactly "effective uid 0" on both transports.
const sd_bus_vtable BusServer::Impl::kVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_ARGS("Status", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", status_json), OnStatus,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Reload", "", "", OnReload, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Resync", "", "", OnResync, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Drops", SD_BUS_ARGS("t", after), SD_BUS_RESULT("s", drops_json), OnDrops,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Generation", "t", GetGeneration, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Drift", "as", GetDrift, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_SIGNAL_WITH_NAMES("Drift", "as", SD_BUS_PARAM(differences), 0),
    SD_BUS_VTABLE_END,
};

namespace {

// Microseconds left until sd-bus's absolute CLOCK_MONOTONIC deadline `usec`.
int PollTimeoutMs(uint64_t usec, int cap_ms) {
  if (usec == UINT64_MAX) return cap_ms;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t now = uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
  if (usec <= now) return 0;
  uint64_t ms = (usec - now + 999) / 1000;
  return int(std::min<uint64_t>(ms, uint64_t(cap_ms)));
}

}  // namespace

Status BusServer::Impl::AddObject(sd_bus* b) {
  int r = sd_bus_add_object_vtable(b, nullptr, kObjectPath, kInterface, kVtable, this);
  if (r < 0) return Status::Internal(std::string("sd_bus_add_object_vtable: ") + Errno(r));
  return Status::Ok();
}

void BusServer::Impl::ConnectSystemBus() {
  next_system_try = Clock::now() + options.system_bus_retry;
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);
  BusPtr b(raw);
  std::string why;
  if (r < 0) {
    why = "no system bus (" + Errno(r) + ")";
  } else {
    sd_bus_set_method_call_timeout(b.get(), 5000000);
    Status st = AddObject(b.get());
    if (!st.ok()) {
      why = st.message();
    } else {
      r = sd_bus_request_name(b.get(), kBusName, 0);
      if (r < 0) why = "cannot own the name " + std::string(kBusName) + " (" + Errno(r) + ")";
    }
  }
  if (!why.empty()) {
    if (!system_down_logged) {
      spdlog::info("system bus: {}; serving only the private socket {} (retrying quietly every {} s)", why,
                   options.socket_path,
                   std::chrono::duration_cast<std::chrono::seconds>(options.system_bus_retry).count());
      system_down_logged = true;
    }
    return;
  }
  const char* unique = nullptr;
  sd_bus_get_unique_name(b.get(), &unique);
  spdlog::info("system bus: serving {} at {} ({})", kBusName, kObjectPath, unique ? unique : "?");
  system_down_logged = false;
  system = std::move(b);
}

void BusServer::Impl::AcceptPeer() {
  int conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (conn < 0) return;
  if (peers.size() >= kMaxPeers) {
    spdlog::warn("bus: {} clients already connected to {}; refusing another", peers.size(), options.socket_path);
    ::close(conn);
    return;
  }
  sd_bus* raw = nullptr;
  if (sd_bus_new(&raw) < 0) {
    ::close(conn);
    return;
  }
  BusPtr b(raw);
  sd_id128_t id;
  sd_id128_randomize(&id);
  int r = sd_bus_set_fd(b.get(), conn, conn);  // from here on the bus owns conn
  if (r < 0) {
    ::close(conn);
    return;
  }
  if (sd_bus_set_server(b.get(), 1, id) < 0 || !AddObject(b.get()).ok() || sd_bus_start(b.get()) < 0) return;
  peers.push_back(std::move(b));
}

void BusServer::Impl::ProcessAll() {
  auto process = [](sd_bus* b) {
    int r = 0;
    while ((r = sd_bus_process(b, nullptr)) > 0) {
    }
    return r;
  };
  if (system) {
    int r = process(system.get());
    if (r < 0) {
      spdlog::warn("system bus: connection lost ({}); serving only the private socket until it is back",
                   Errno(r));
      system.reset();
      system_down_logged = true;
      next_system_try = Clock::now() + options.system_bus_retry;
    }
  }
  std::erase_if(peers, [&](BusPtr& b) { return process(b.get()) < 0; });
}

BusServer::BusServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BusServer::~BusServer() = default;

Result<std::unique_ptr<BusServer>> BusServer::Listen(Options options, Handlers handlers) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handlers = std::move(handlers);
  const std::string& path = impl->options.socket_path;
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return Status::InvalidArgument(path + ": path too long for a unix socket");
  impl->event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->event_fd < 0) return Status::Internal(std::string("eventfd: ") + std::strerror(errno));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Internal(std::string("socket: ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  mode_t old = ::umask(0177);
  int r = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (r != 0 || ::listen(fd, 16) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return Status::Internal(path + ": cannot listen: " + err);
  }
  impl->listen_fd = fd;
  return std::unique_ptr<BusServer>(new BusServer(std::move(impl)));
}

void BusServer::Run(const std::function<bool()>& should_stop) {
  Impl& s = *impl_;
  if (s.options.system_bus) s.ConnectSystemBus();
  while (!should_stop()) {
    s.ProcessAll();
    if (s.options.system_bus && !s.system && Clock::now() >= s.next_system_try) s.ConnectSystemBus();

    std::vector<pollfd> fds{{s.event_fd, POLLIN, 0}, {s.listen_fd, POLLIN, 0}};
    std::vector<sd_bus*> buses = s.Buses();
    int timeout = 200;
    for (sd_bus* b : buses) {
      int events = sd_bus_get_events(b);
      fds.push_back({sd_bus_get_fd(b), short(events < 0 ? 0 : events), 0});
      uint64_t usec = UINT64_MAX;
      if (sd_bus_get_timeout(b, &usec) >= 0) timeout = std::min(timeout, PollTimeoutMs(usec, 200));
    }
    int r = ::poll(fds.data(), fds.size(), timeout);
    if (r < 0 && errno != EINTR) {
      spdlog::error("bus: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[0].revents & POLLIN) s.DrainQueue();
    if (fds[1].revents & POLLIN) s.AcceptPeer();
  }
  s.ProcessAll();  // flush what the last notifications queued
  s.peers.clear();
  s.system.reset();
}

void BusServer::NotifyDrift(std::vector<std::string> differences) {
  impl_->Queue({Impl::Pending::Kind::kDriftSignal, 0, std::move(differences)});
}

void BusServer::NotifyState(uint64_t generation, std::vector<std::string> drift) {
  impl_->Queue({Impl::Pending::Kind::kGeneration, generation, {}});
  impl_->Queue({Impl::Pending::Kind::kDrift, 0, std::move(drift)});
}

void BusServer::NotifyGeneration(uint64_t generation) {
  impl_->Queue({Impl::Pending::Kind::kGeneration, generation, {}});
}

}  // namespace ipo::bus
