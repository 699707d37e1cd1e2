#include "compile/baseline.h"

#include <algorithm>

#include "compile/compiler.h"

namespace ipo::compile {

nft::Ruleset FailClosedBaseline(const std::vector<ProxyPort>& proxy_ports) {
  nft::Table filter;
  filter.family = nft::Family::kInet;
  filter.name = kFilterTable;
  nft::Chain forward{"filter-forward",
                     nft::BaseChainSpec{nft::ChainType::kFilter, nft::Hook::kForward, 0, /*policy_drop=*/true},
                     {}};
  forward.rules.push_back(nft::Rule{{nft::Counter{}}, "fail-closed: no usable policy, nothing is forwarded"});
  filter.chains.push_back(std::move(forward));
  if (!proxy_ports.empty()) {
    nft::Set proxy{"proxy-ports", {nft::Type::kInetProto, nft::Type::kInetService}, {}, false, {},
                   "host ports docker-proxy listens on (docker run -p)"};
    for (const ProxyPort& p : proxy_ports)
      proxy.elements.push_back(nft::Element{{nft::Proto{p.proto}, nft::Port{p.port}}, {}, {}});
    std::sort(proxy.elements.begin(), proxy.elements.end());
    proxy.elements.erase(std::unique(proxy.elements.begin(), proxy.elements.end()), proxy.elements.end());
    filter.sets.push_back(std::move(proxy));
    nft::Chain to_proxy{"to-proxy", std::nullopt, {}};
    to_proxy.rules.push_back(nft::Rule{{nft::Cmp{nft::Field::kIifname, false, nft::IfName{"lo"}},
                                        nft::Verdict{nft::VerdictKind::kAccept, ""}},
                                       "the host itself"});
    to_proxy.rules.push_back(nft::Rule{{nft::CtState{nft::CtState::kEstablished | nft::CtState::kRelated},
                                        nft::Verdict{nft::VerdictKind::kAccept, ""}},
                                       "replies"});
    to_proxy.rules.push_back(nft::Rule{{nft::Counter{}, nft::Verdict{nft::VerdictKind::kDrop, ""}},
                                       "fail-closed: docker-proxy ports are closed until the policy is fixed"});
    nft::Chain input{"filter-input", nft::BaseChainSpec{nft::ChainType::kFilter, nft::Hook::kInput, 0, false}, {}};
    input.rules.push_back(nft::Rule{{nft::Lookup{{nft::Field::kMetaL4proto, nft::Field::kThDport}, false, "proxy-ports"},
                                     nft::Verdict{nft::VerdictKind::kJump, "to-proxy"}},
                                    "ports docker-proxy publishes"});
    filter.chains.push_back(std::move(to_proxy));
    filter.chains.push_back(std::move(input));
  }

  nft::Ruleset rs;
  rs.tables.push_back(std::move(filter));
  for (nft::Family f : {nft::Family::kIp, nft::Family::kIp6}) {
    nft::Table nat;
    nat.family = f;
    nat.name = kNatTable;
    rs.tables.push_back(std::move(nat));
  }
  return rs;
}

}  // namespace ipo::compile
