// libFuzzer target for ParseNflog and ParseNflogPayload (nflog.h): any bytes, read as one
// netlink message and, separately, as the IP header of a logged packet, give a packet or
// nothing, never a crash or a read past the input. The message is copied into a buffer of
// exactly nlmsg_len bytes (aligned, as a receive buffer is), so that ASan sees any over-read.
// Seeds: tests/fuzz/corpus/nflog_fuzz/.
#include <linux/netlink.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nft/nflog.h"

namespace {

// What any parsed packet must satisfy.
void Check(const ipo::nft::NflogPacket& p) {
  if ((p.sport != 0 || p.dport != 0) && p.l4proto != 6 && p.l4proto != 17) std::abort();
  if (p.src.empty() != p.dst.empty()) std::abort();
  if (p.unix_nanos < 0) std::abort();
  if (p.ToString().empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= sizeof(struct nlmsghdr)) {
    struct nlmsghdr hdr {};
    std::memcpy(&hdr, data, sizeof hdr);
    if (hdr.nlmsg_len <= size) {
      // ParseNflog reads the header even when nlmsg_len claims less.
      std::vector<uint8_t> msg(data, data + std::max<size_t>(hdr.nlmsg_len, sizeof hdr));
      if (auto p = ipo::nft::ParseNflog(reinterpret_cast<const struct nlmsghdr*>(msg.data()))) Check(*p);
    }
  }
  ipo::nft::NflogPacket p;
  const std::vector<uint8_t> payload(data, data + size);
  ipo::nft::ParseNflogPayload(payload.data(), payload.size(), p);
  Check(p);
  return 0;
}
