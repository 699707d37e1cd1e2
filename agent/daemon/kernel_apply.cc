#include "daemon/kernel_apply.h"

#include <spdlog/spdlog.h>

#include "compile/compiler.h"
#include "compile/drift.h"

namespace ipo::daemon {
namespace {

std::string Describe(const nft::ElementChange& c) {
  return std::string(c.add ? "+" : "-") + " " + nft::FamilyName(c.family) + " " + c.table + " @" + c.set + " { " +
         nft::ElementToString(c.element) + " }";
}

}  // namespace

Result<std::string> ApplyRuleset(nft::NftBackend& nft, const nft::Ruleset* applied, const nft::Ruleset& desired,
                                 const std::string& reason) {
  if (applied && nft::SameStructure(*applied, desired)) {
    auto changes = nft::DiffElements(*applied, desired);
    if (changes.empty()) return std::string();
    Status st = nft.UpdateElements(changes);
    if (st.ok()) {
      for (const auto& c : changes) spdlog::info("ruleset ({}): {}", reason, Describe(c));
      return std::string("elements");
    }
    spdlog::warn("element update failed ({}); replacing the tables instead", st.message());
  }
  Status st = nft.ReplaceTables(desired, false);
  if (!st.ok()) {
    spdlog::error("applying the ruleset ({}) failed, the kernel keeps the previous one: {}", reason, st.message());
    return st;
  }
  spdlog::info("ruleset ({}): replaced tables inet/ip/ip6 {} in one batch", reason, compile::kFilterTable);
  return std::string("full");
}

Result<std::vector<std::string>> ReadDrift(nft::NftBackend& nft, const nft::Ruleset& applied,
                                           nft::Ruleset* kernel) {
  auto read = nft.ReadTables(compile::OwnedTables());
  if (!read.ok()) return read.status();
  std::vector<std::string> drift = compile::FindDrift(applied, *read);
  if (kernel != nullptr) *kernel = std::move(*read);
  return drift;
}

Status RepairTables(nft::NftBackend& nft, const nft::Ruleset& applied) {
  Status st = nft.ReplaceTables(applied, false);
  if (!st.ok()) return st;
  auto left = ReadDrift(nft, applied);  // confirm the repair holds
  if (!left.ok()) return left.status();
  if (!left->empty()) return Status::Internal("repair did not hold: " + left->front());
  return Status::Ok();
}

}  // namespace ipo::daemon
