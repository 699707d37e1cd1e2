#include "nft/netlink_batch.h"

#include <linux/netfilter/nfnetlink.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include <libnftnl/common.h>

namespace ipo::nft {
namespace {

// One libnftnl page; a message may overrun it by up to kMaxMessage bytes before a new page.
constexpr uint32_t kPageSize = 128 * 1024;
constexpr uint32_t kMaxMessage = 128 * 1024;

}  // namespace

NetlinkBatch::NetlinkBatch(uint32_t first_seq)
    : batch_(nftnl_batch_alloc(kPageSize, kMaxMessage)), begin_seq_(first_seq),
      next_seq_(first_seq) {
  nftnl_batch_begin(static_cast<char*>(nftnl_batch_buffer(batch_.get())), begin_seq_);
  nftnl_batch_update(batch_.get());
}

void NetlinkBatch::Add(uint16_t msg_type, uint16_t family, uint16_t flags,
                       std::string description,
                       const std::function<void(struct nlmsghdr*)>& build) {
  ++next_seq_;
  struct nlmsghdr* nlh = nftnl_nlmsg_build_hdr(static_cast<char*>(nftnl_batch_buffer(batch_.get())),
                                               msg_type, family,
                                               static_cast<uint16_t>(flags | NLM_F_ACK), next_seq_);
  build(nlh);
  nftnl_batch_update(batch_.get());
  descriptions_.push_back(std::move(description));
}

size_t NetlinkBatch::byte_count() const { return nftnl_batch_buffer_len(batch_.get()); }

Status NetlinkBatch::Send(MnlSocket& sock, bool check_only) {
  if (!check_only) {
    nftnl_batch_end(static_cast<char*>(nftnl_batch_buffer(batch_.get())), next_seq_ + 1);
    nftnl_batch_update(batch_.get());
  }
  std::vector<iovec> iov(static_cast<size_t>(nftnl_batch_iovec_len(batch_.get())));
  nftnl_batch_iovec(batch_.get(), iov.data(), static_cast<uint32_t>(iov.size()));
  auto acks = sock.SendBatch(iov, descriptions_.size(), begin_seq_);
  if (!acks.ok()) return acks.status();

  std::vector<Ack> failed;
  for (const Ack& a : *acks) {
    if (a.error != 0) failed.push_back(a);
  }
  if (failed.empty()) return Status::Ok();
  std::sort(failed.begin(), failed.end(),
            [](const Ack& a, const Ack& b) { return a.seq < b.seq; });
  const Ack& first = failed.front();
  std::string what = "the batch";
  if (first.seq > begin_seq_ && first.seq - begin_seq_ - 1 < descriptions_.size()) {
    what = descriptions_[first.seq - begin_seq_ - 1];
  }
  std::string msg = "kernel rejected \"" + what + "\": " + std::strerror(first.error) +
                    " (errno " + std::to_string(first.error) + ")";
  if (!first.ext_msg.empty()) msg += ": " + first.ext_msg;
  if (failed.size() > 1) {
    msg += " (and " + std::to_string(failed.size() - 1) + " more failed message" +
           (failed.size() > 2 ? "s" : "") + ")";
  }
  Status::Code code = first.error == EPERM ? Status::Code::kPermission
                                           : Status::Code::kInvalidArgument;
  return code == Status::Code::kPermission ? Status::Permission(msg)
                                           : Status::InvalidArgument(msg);
}

}  // namespace ipo::nft
