// ipo-netd-proxy: Docker's userland proxy replaced by a reservation (proxy/reservation.h).
// The driver only wires: arguments (proxy/proxy_args.h), the reservation, the report on fd 3
// that dockerd reads, and the wait for SIGINT/SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "proxy/proxy_args.h"
#include "proxy/reservation.h"

namespace {

// dockerd's pipe: "0\n" when ready, "1\n<reason>" on failure. Without fd 3 (run by hand) the
// report goes to stderr only.
void Report(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(3, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
  ::close(3);
}

int Fail(const std::string& why) {
  std::fprintf(stderr, "ipo-netd-proxy: %s\n", why.c_str());
  Report("1\n" + why);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the signals first: one that arrives while binding is then taken by sigwait.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, nullptr);

  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = ipo::proxy::ParseProxyArgs(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s", ipo::proxy::kUsage);
    return Fail(parsed.status().message());
  }
  if (parsed->help) {
    std::fprintf(stdout, "%s", ipo::proxy::kUsage);
    return 0;
  }
  auto reserved = ipo::proxy::Reservation::Make(parsed->proto, parsed->host_ip, parsed->host_port);
  if (!reserved.ok()) return Fail(reserved.status().message());
  Report("0\n");
  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
  return 0;
}
