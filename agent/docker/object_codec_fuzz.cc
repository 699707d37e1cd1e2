// libFuzzer target for the Docker object decoders (object_codec.h, over docker_json.h): the
// input is a response body, given to every decoder in turn (container, container list,
// network, network list, /version, error body). Each must return a value or an error,
// never crash, leak or stall; what they return must keep the documented shape.
// Seeds: tests/fuzz/corpus/object_codec_fuzz/.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "docker/object_codec.h"

namespace {

bool Sorted(const std::vector<ipo::docker::PortBinding>& ports) {
  return std::is_sorted(ports.begin(), ports.end(), [](const auto& a, const auto& b) {
    return std::tie(a.container_port, a.proto, a.host_ip, a.host_port) <
           std::tie(b.container_port, b.proto, b.host_ip, b.host_port);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  ipo::Result<ipo::docker::ContainerInfo> container = ipo::docker::DecodeContainer(body);
  if (container.ok()) {
    if (container->id.empty() || !Sorted(container->ports) || !Sorted(container->configured_ports)) {
      std::abort();
    }
  }

  // hostconfig.json from Docker's data root, read at boot by the restore (docker/disk_ports.h).
  ipo::Result<std::vector<ipo::docker::PortBinding>> host_config = ipo::docker::DecodeHostConfigPortBindings(body);
  if (host_config.ok() && !Sorted(*host_config)) std::abort();

  ipo::Result<std::vector<std::string>> ids = ipo::docker::DecodeContainerIds(body);
  if (ids.ok() && std::any_of(ids->begin(), ids->end(), [](const auto& id) { return id.empty(); })) {
    std::abort();
  }

  ipo::Result<ipo::docker::NetworkInfo> network = ipo::docker::DecodeNetwork(body);
  if (network.ok() && network->id.empty()) std::abort();

  ipo::Result<std::vector<ipo::docker::NetworkInfo>> networks = ipo::docker::DecodeNetworks(body);
  if (networks.ok()) {
    for (const auto& n : *networks) {
      if (n.id.empty() || (n.driver != "bridge" && !n.bridge_name.empty())) std::abort();
    }
  }

  ipo::Result<std::string> version = ipo::docker::DecodeApiVersion(body);
  if (version.ok()) {
    if (version->empty()) std::abort();
    const int cmp = ipo::docker::CompareApiVersions(*version, ipo::docker::kMaxApiVersion);
    if (cmp != -ipo::docker::CompareApiVersions(ipo::docker::kMaxApiVersion, *version)) std::abort();
  }

  if (ipo::docker::DecodeErrorMessage(body).empty()) std::abort();
  return 0;
}
