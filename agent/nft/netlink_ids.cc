#include "nft/netlink_ids.h"

#include <linux/netfilter.h>

namespace ipo::nft {

uint16_t Nfproto(Family f) { return static_cast<uint16_t>(f); }

std::string TableName(Family f, const std::string& name) {
  return std::string(FamilyName(f)) + " " + name;
}

uint32_t HookNum(Hook h) {
  switch (h) {
    case Hook::kPrerouting: return NF_INET_PRE_ROUTING;
    case Hook::kInput: return NF_INET_LOCAL_IN;
    case Hook::kForward: return NF_INET_FORWARD;
    case Hook::kOutput: return NF_INET_LOCAL_OUT;
    case Hook::kPostrouting: return NF_INET_POST_ROUTING;
  }
  return NF_INET_FORWARD;
}

std::optional<Hook> HookFromNum(uint32_t n) {
  switch (n) {
    case NF_INET_PRE_ROUTING: return Hook::kPrerouting;
    case NF_INET_LOCAL_IN: return Hook::kInput;
    case NF_INET_FORWARD: return Hook::kForward;
    case NF_INET_LOCAL_OUT: return Hook::kOutput;
    case NF_INET_POST_ROUTING: return Hook::kPostrouting;
    default: return std::nullopt;
  }
}

}  // namespace ipo::nft
