#include "compile/baseline.h"

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
    ProxyGuard guard =
        MakeProxyGuard(proxy_ports, {}, "fail-closed: docker-proxy ports are closed until the policy is fixed");
    filter.sets.push_back(std::move(guard.set));
    filter.chains.push_back(std::move(guard.to_proxy));
    filter.chains.push_back(std::move(guard.input));
  }

  nft::Ruleset rs;
  rs.tables.push_back(std::move(filter));
  for (nft::Family f : {nft::Family::kIp, nft::Family::kIp6}) {
    nft::Table nat;
    nat.family = f;
    nat.name = kNatTable;
    rs.tables.push_back(std::move(nat));
  }
  // Routed traffic is dropped above; frames between containers on docker0 never reach it.
  rs.tables.push_back(DefaultBridgeGuard(""));
  return rs;
}

}  // namespace ipo::compile
