#include "hostsock/sock_diag.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <system_error>

#include "common/unique_fd.h"

namespace ipo::hostsock {
namespace {

constexpr uint8_t kTcpListen = 10;  // TCP_LISTEN in the kernel's enum
constexpr uint8_t kTcpClose = 7;    // TCP_CLOSE: an unconnected UDP socket

std::string AddrText(uint8_t family, const uint32_t* words) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (::inet_ntop(family, words, buf.data(), buf.size()) == nullptr) return "";
  return buf.data();
}

Status Dump(uint8_t family, uint8_t proto, std::vector<HostSocket>& out) {
  std::string what = std::string("sock_diag dump of ") + (proto == IPPROTO_TCP ? "tcp" : "udp") +
                     (family == AF_INET ? "4" : "6");
  UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (fd.get() < 0) return Status::Unavailable(what + ": socket: " + std::strerror(errno));
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = proto;
  msg.req.idiag_states = proto == IPPROTO_TCP ? (1U << kTcpListen) : (1U << kTcpClose);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return Status::Unavailable(what + ": send: " + std::strerror(errno));
  }
  std::vector<uint8_t> buf(size_t{64} * 1024);
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(what + ": recv: " + std::strerror(errno));
    }
    auto done = DecodeSockDiag(buf.data(), static_cast<size_t>(n), proto, out);
    if (!done.ok()) return done.status().WithContext(what);
    if (*done || n == 0) return Status::Ok();
  }
}

}  // namespace

Result<bool> DecodeSockDiag(const uint8_t* data, size_t len, uint8_t proto, std::vector<HostSocket>& out) {
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= len) {
    nlmsghdr h{};
    std::memcpy(&h, data + off, sizeof(h));
    if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > len) {
      return Status::InvalidArgument("truncated netlink message at byte " + std::to_string(off));
    }
    if (h.nlmsg_type == NLMSG_DONE) return true;
    if (h.nlmsg_type == NLMSG_ERROR) {
      nlmsgerr e{};
      if (h.nlmsg_len < NLMSG_LENGTH(sizeof(e))) return Status::InvalidArgument("truncated netlink error");
      std::memcpy(&e, data + off + NLMSG_HDRLEN, sizeof(e));
      // The kernel sends -errno; INT_MIN (hostile or corrupt bytes) has no positive twin.
      const int err = e.error < 0 && e.error != std::numeric_limits<int>::min() ? -e.error : EPROTO;
      return Status::Unavailable(std::string("kernel error: ") + std::strerror(err));
    }
    if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
      if (h.nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
        return Status::InvalidArgument("truncated inet_diag_msg at byte " + std::to_string(off));
      }
      inet_diag_msg m{};
      std::memcpy(&m, data + off + NLMSG_HDRLEN, sizeof(m));
      bool keep = proto == IPPROTO_TCP ? m.idiag_state == kTcpListen : m.id.idiag_dport == 0;
      if (keep && (m.idiag_family == AF_INET || m.idiag_family == AF_INET6)) {
        out.push_back(HostSocket{proto, AddrText(m.idiag_family, m.id.idiag_src), ntohs(m.id.idiag_sport),
                                 m.idiag_inode, ""});
      }
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return false;
}

Result<std::vector<HostSocket>> ListHostSockets() {
  std::vector<HostSocket> out;
  for (uint8_t family : {static_cast<uint8_t>(AF_INET), static_cast<uint8_t>(AF_INET6)}) {
    for (uint8_t proto : {static_cast<uint8_t>(IPPROTO_TCP), static_cast<uint8_t>(IPPROTO_UDP)}) {
      IPO_RETURN_IF_ERROR(Dump(family, proto, out));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void FillOwners(std::vector<HostSocket>& sockets, const std::string& proc) {
  std::map<uint64_t, HostSocket*> by_inode;
  for (HostSocket& s : sockets)
    if (s.inode != 0) by_inode[s.inode] = &s;
  if (by_inode.empty()) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::directory_iterator pid(proc, ec), end; !ec && pid != end; pid.increment(ec)) {
    const std::string name = pid->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    std::string comm;
    for (fs::directory_iterator fd(pid->path() / "fd", fd_ec), fd_end; !fd_ec && fd != fd_end; fd.increment(fd_ec)) {
      std::error_code link_ec;
      std::string target = fs::read_symlink(fd->path(), link_ec).string();
      if (link_ec || target.rfind("socket:[", 0) != 0) continue;
      uint64_t inode = std::strtoull(target.c_str() + 8, nullptr, 10);
      auto it = by_inode.find(inode);
      if (it == by_inode.end()) continue;
      if (comm.empty()) {
        std::ifstream in(pid->path() / "comm");
        std::getline(in, comm);
      }
      it->second->owner = comm;
    }
  }
}

}  // namespace ipo::hostsock
