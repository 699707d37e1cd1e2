// FakeNftBackend: an in-memory NftBackend for tests of the daemon's logic. It keeps the
// tables it was given, reads them back the way the kernel does (rules carry only their
// comment tag), records every call, and can be told to fail the next call.
//
// Thread safety: not thread-safe.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nft/nft_backend.h"

namespace ipo::testing {

class FakeNftBackend final : public nft::NftBackend {
 public:
  Status ReplaceTables(const nft::Ruleset& desired, bool check_only) override {
    calls.push_back(check_only ? "check" : "replace");
    if (Failing()) return Status::Internal("injected failure");
    if (!check_only) kernel = desired;
    return Status::Ok();
  }
  Status UpdateElements(const std::vector<nft::ElementChange>& changes) override {
    calls.push_back("elements " + std::to_string(changes.size()));
    if (Failing()) return Status::Internal("injected failure");
    for (const auto& c : changes) {
      for (auto& t : kernel.tables) {
        if (t.family != c.family || t.name != c.table) continue;
        nft::Set* s = t.FindSet(c.set);
        if (!s) return Status::NotFound("no set " + c.set);
        if (c.add) {
          s->elements.push_back(c.element);
        } else {
          std::erase(s->elements, c.element);
        }
      }
    }
    return Status::Ok();
  }
  Result<nft::Ruleset> ReadTables(const std::vector<nft::TableRef>&) override {
    calls.push_back("read");
    nft::Ruleset out = kernel;
    for (auto& t : out.tables)
      for (auto& c : t.chains)
        for (auto& r : c.rules) {
          bool counted = std::any_of(r.exprs.begin(), r.exprs.end(),
                                     [](const nft::Expr& e) { return std::holds_alternative<nft::Counter>(e); });
          // A test sets `counts` on a kernel rule to stand for traffic.
          std::optional<nft::Counts> counts = counted ? r.counts.value_or(nft::Counts{}) : r.counts;
          r = nft::Rule{{}, r.Tag(), counts};
        }
    return out;
  }
  Status DeleteTables(const std::vector<nft::TableRef>&) override {
    calls.push_back("delete");
    kernel = {};
    return Status::Ok();
  }

  nft::Ruleset kernel;
  std::vector<std::string> calls;
  int fail_next = 0;  // how many coming calls fail

 private:
  bool Failing() {
    if (fail_next <= 0) return false;
    --fail_next;
    return true;
  }
};

}  // namespace ipo::testing
