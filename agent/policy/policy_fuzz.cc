// libFuzzer target for the policy parser: any bytes given to ParsePolicy must yield a Policy
// or an error message naming the source, never a crash, a leak or a stall (fuzz.sh runs it
// with -timeout=1). Seeds: tests/fuzz/corpus/policy_fuzz/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ipo::Result<ipo::policy::Policy> policy = ipo::policy::ParsePolicy(text, "fuzz/policy.json");
  if (policy.ok()) {
    // A policy that parses is consistent: every container names one of its networks.
    for (const auto& c : policy->containers) {
      if (policy->FindNetwork(c.network) == nullptr) std::abort();
    }
  } else if (policy.status().ToString().find("fuzz/policy.json") == std::string_view::npos) {
    std::abort();  // errors name the file
  }
  return 0;
}
