#include "proxy/reservation.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ipo::proxy {

Reservation::~Reservation() {
  if (fd_ >= 0) ::close(fd_);
}

uint16_t Reservation::port() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
}

Result<Reservation> Reservation::Make(const std::string& proto, const std::string& host_ip, uint16_t host_port) {
  std::string ip = host_ip.empty() ? "0.0.0.0" : host_ip;
  bool v6 = ip.find(':') != std::string::npos;
  std::string what = "cannot reserve " + proto + " " + (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(host_port);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(host_port);
    if (::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) != 1) return Status::InvalidArgument(what + ": not an address");
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(host_port);
    if (::inet_pton(AF_INET, ip.c_str(), &a->sin_addr) != 1) return Status::InvalidArgument(what + ": not an address");
    len = sizeof(*a);
  }
  int type = SOCK_STREAM;
  int protocol = 0;
  if (proto == "udp") {
    type = SOCK_DGRAM;
  } else if (proto == "sctp") {
    type = SOCK_SEQPACKET;
    protocol = IPPROTO_SCTP;
  } else if (proto != "tcp") {
    return Status::InvalidArgument(what + ": unknown protocol");
  }
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return Status::Unavailable(what + ": socket: " + std::strerror(errno));
  Reservation r(fd);
  int one = 1;
  if (v6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    return Status::Internal(what + ": IPV6_V6ONLY: " + std::strerror(errno));
  }
  if (proto == "udp") {
    int tiny = 1;  // the kernel rounds it up to its minimum
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny));
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    return Status::Unavailable(what + ": " + std::strerror(errno));
  }
  return r;
}

}  // namespace ipo::proxy
