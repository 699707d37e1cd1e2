// libFuzzer target for the sock_diag decoder: any bytes a recv() of a NETLINK_SOCK_DIAG dump
// could return must decode to sockets or an error, never a crash, an out-of-bounds read or a
// stall. The first byte picks the protocol (even: tcp, odd: udp). Seeds:
// tests/fuzz/corpus/sock_diag_fuzz/ (tests/fuzz/make_seeds.sh).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "hostsock/sock_diag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t proto = (data[0] & 1) != 0 ? 17 : 6;
  std::vector<ipo::hostsock::HostSocket> out;
  ipo::Result<bool> done = ipo::hostsock::DecodeSockDiag(data + 1, size - 1, proto, out);
  if (done.ok()) {
    for (const auto& s : out) {
      if (s.proto != proto) std::abort();  // a socket is of the dump's protocol
    }
  }
  return 0;
}
