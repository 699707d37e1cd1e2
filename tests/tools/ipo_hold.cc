// ipo-hold: one long-lived TCP connection from inside a network namespace that sends a line
// every INTERVAL_MS and reports, with wall-clock times, when the connection ends. The lab's
// conntrack test (tests/lab/conntrack_reuse.sh) holds a WAN flow through the agent's DNAT
// with it while the container behind it is replaced.
//
//   ipo-hold NETNS_PATH HOST PORT INTERVAL_MS MAX_S
//
// Prints one line per event, each starting with the time (seconds since the epoch, 6 decimals):
//   T connected LOCAL_ADDR LOCAL_PORT
//   T sent SEQ                 a line "ipo-hold SEQ\n" was handed to the kernel
//   T peer-closed SENT         the peer closed its side (FIN); sending goes on
//   T ended REASON SENT        a reset (from the peer or a host on the path) or another
//                              error ended the connection; SENT lines were sent in all
//   T alive SENT               MAX_S passed with the connection still up
// Exit 0 after "ended" or "alive"; 1 when the connection cannot be made; 2 on bad usage or
// when the namespace cannot be entered.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Say(const std::string& what) {
  std::printf("%.6f %s\n", Now(), what.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: ipo-hold NETNS_PATH HOST PORT INTERVAL_MS MAX_S\n");
    return 2;
  }
  int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "ipo-hold: cannot enter %s: %s\n", argv[1], std::strerror(errno));
    return 2;
  }
  close(ns);
  int port = std::atoi(argv[3]);
  int interval_ms = std::atoi(argv[4]);
  double max_s = std::atof(argv[5]);
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, argv[2], &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, argv[2], &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    std::fprintf(stderr, "ipo-hold: %s is not a numeric address\n", argv[2]);
    return 2;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    std::fprintf(stderr, "ipo-hold: connect to %s port %d: %s\n", argv[2], port, std::strerror(errno));
    return 1;
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  char text[INET6_ADDRSTRLEN] = "";
  uint16_t local_port = 0;
  if (local.ss_family == AF_INET) {
    const auto* l4 = reinterpret_cast<const sockaddr_in*>(&local);
    inet_ntop(AF_INET, &l4->sin_addr, text, sizeof(text));
    local_port = ntohs(l4->sin_port);
  } else {
    const auto* l6 = reinterpret_cast<const sockaddr_in6*>(&local);
    inet_ntop(AF_INET6, &l6->sin6_addr, text, sizeof(text));
    local_port = ntohs(l6->sin6_port);
  }
  Say(std::string("connected ") + text + " " + std::to_string(local_port));

  double end = Now() + max_s;
  long sent = 0;
  bool peer_closed = false;
  double next = Now();
  while (Now() < end) {
    if (Now() >= next) {
      std::string line = "ipo-hold " + std::to_string(sent + 1) + "\n";
      if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) < 0) {
        Say(std::string("ended send:") + strerrorname_np(errno) + " " + std::to_string(sent));
        return 0;
      }
      ++sent;
      Say("sent " + std::to_string(sent));
      next += interval_ms / 1000.0;
    }
    // Wait for the next send, watching for a reset meanwhile. A close by the peer (FIN) is
    // reported once and the sending goes on (a half-closed flow still carries data, and a
    // peer that is gone answers it with a reset): only an error ends the connection.
    pollfd p{fd, static_cast<short>(peer_closed ? 0 : POLLIN), 0};
    int wait_ms = static_cast<int>((next - Now()) * 1000);
    if (poll(&p, 1, wait_ms > 0 ? wait_ms : 0) > 0) {
      if ((p.revents & (POLLERR | POLLHUP)) != 0) {
        int err = 0;
        socklen_t err_len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
        Say(std::string("ended ") + (err != 0 ? std::string("error:") + strerrorname_np(err) : "hangup") + " " +
            std::to_string(sent));
        return 0;
      }
      char buf[512];
      ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0) {
        peer_closed = true;
        Say("peer-closed " + std::to_string(sent));
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        Say(std::string("ended recv:") + strerrorname_np(errno) + " " + std::to_string(sent));
        return 0;
      }
    }
  }
  Say("alive " + std::to_string(sent));
  return 0;
}
