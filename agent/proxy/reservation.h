// Reservation: a host address and port held by a socket that accepts nothing, so that no
// other process can bind it while a container's `-p` binding exists:
//   tcp   bound, no SO_REUSEADDR, never listen(): SYNs to it get a reset
//   udp   bound, SO_RCVBUF at the kernel's minimum, never read
//   sctp  bound (SOCK_SEQPACKET), never listen()
// An IPv6 address binds with IPV6_V6ONLY, so "::" and "0.0.0.0" are separate reservations, as
// Docker asks for them.
//
// Thread safety: a Reservation is owned by one thread.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace ipo::proxy {

class Reservation {
 public:
  Reservation(Reservation&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Reservation& operator=(Reservation&&) = delete;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();
  int fd() const { return fd_; }
  // The port actually bound (the requested one, or the kernel's choice for port 0).
  uint16_t port() const;

  // Binds `host_ip`:`host_port` for `proto` ("tcp", "udp", "sctp"). The error names the
  // address and the reason, e.g. "cannot reserve tcp 0.0.0.0:22: Address already in use".
  static Result<Reservation> Make(const std::string& proto, const std::string& host_ip, uint16_t host_port);

 private:
  explicit Reservation(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace ipo::proxy
