// libFuzzer target for the destination argument of `ipo-netctl explain`: any bytes given to
// ParseDestination yield a destination with a port of 1-65535 and a host that is not empty,
// or an error that starts with "DST: ", never a crash. Seeds: tests/fuzz/corpus/destination_fuzz/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "explain/explain.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = ipo::explain::ParseDestination(text);
  if (d.ok()) {
    if (d->port == 0 || d->host.empty() || (d->proto != 6 && d->proto != 17)) std::abort();
  } else if (d.status().message().rfind("DST: ", 0) != 0) {
    std::abort();
  }
  return 0;
}
