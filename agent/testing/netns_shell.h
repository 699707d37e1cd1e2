// Helpers for tests that talk to the real kernel: enter a private network namespace once
// (so nothing can touch the host's ruleset) and run shell commands (`nft`) there.
//
// Thread safety: call from the test's main thread.
#pragma once

#include <sched.h>

#include <array>
#include <cstdio>
#include <string>

namespace ipo::testing {

// Moves the whole test process (and the commands it runs) into a new, empty network
// namespace once, so it cannot touch the host's ruleset even when run without `unshare`.
inline bool EnterOwnNetns() {
  static const bool entered = unshare(CLONE_NEWNET) == 0;
  return entered;
}

// Runs a shell command; returns stdout+stderr. REQUIRES: EnterOwnNetns().
inline std::string Sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(("{ " + cmd + "; } 2>&1").c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = pclose(p);
  if (status != nullptr) *status = rc;
  return out;
}

}  // namespace ipo::testing
