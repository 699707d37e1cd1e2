// FakeFlusher: an in-memory conntrack table for tests of the daemon's logic. Flush() removes
// the entries that Matches() a target, like the kernel path does, records every call, and can
// be told to fail.
//
// Thread safety: not thread-safe.
#pragma once

#include <algorithm>
#include <vector>

#include "conntrack/flusher.h"

namespace ipo::testing {

class FakeFlusher final : public conntrack::Flusher {
 public:
  Result<conntrack::FlushResult> Flush(const std::vector<conntrack::Target>& targets) override {
    calls.push_back(targets);
    if (fail) return Status::Unavailable("conntrack dump failed: injected failure");
    conntrack::FlushResult r;
    r.scanned = entries.size();
    std::erase_if(entries, [&](const conntrack::Entry& e) {
      bool hit = std::any_of(targets.begin(), targets.end(),
                             [&](const conntrack::Target& t) { return conntrack::Matches(e, t); });
      if (hit) ++r.removed;
      return hit;
    });
    r.matched = r.removed;
    return r;
  }

  std::vector<conntrack::Entry> entries;
  std::vector<std::vector<conntrack::Target>> calls;
  bool fail = false;
};

}  // namespace ipo::testing
