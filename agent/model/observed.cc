#include "model/observed.h"

#include <algorithm>

namespace ipo::model {

ProxyPort ProxyPortFor(const std::string& proto, uint16_t host_port) {
  uint8_t p = proto == "udp" ? 17 : proto == "sctp" ? 132 : 6;
  return ProxyPort{p, host_port};
}

const char* ProtoName(uint8_t proto) { return proto == 17 ? "udp" : proto == 132 ? "sctp" : "tcp"; }

void MergeProxyPorts(std::vector<ProxyPort>& ports, const std::vector<ProxyPort>& more) {
  ports.insert(ports.end(), more.begin(), more.end());
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
}

}  // namespace ipo::model
