#include "droplog/drop_index.h"

#include <variant>

#include "common/json_lines.h"

namespace ipo::droplog {

DropIndex DropIndex::Walk(const nft::Ruleset& applied) {
  DropIndex index;
  for (const nft::Table& t : applied.tables) {
    for (const nft::Chain& c : t.chains) {
      for (size_t i = 0; i < c.rules.size(); ++i) {
        const nft::Rule& twin = c.rules[i];
        const auto* log = twin.exprs.empty() ? nullptr : std::get_if<nft::Log>(&twin.exprs.back());
        if (log == nullptr) continue;
        // The twin precedes its drop rule; a log rule at a chain's end names only itself.
        const nft::Rule& drop = i + 1 < c.rules.size() ? c.rules[i + 1] : twin;
        index.by_prefix_.emplace(log->prefix,
                                 DroppingRule{nft::FamilyName(t.family), t.name, c.name, drop.comment, drop.origin, "", log->group});
        if (!index.group_) index.group_ = log->group;
      }
    }
  }
  return index;
}

DropIndex DropIndex::Build(const nft::Ruleset& applied, const std::string& policy_file, std::string_view policy_text) {
  DropIndex index = Walk(applied);
  JsonLines lines(policy_text);
  for (auto& [prefix, d] : index.by_prefix_)
    if (!d.origin.empty()) d.policy = policy_file + ":" + std::to_string(lines.LineOf(d.origin)) + " " + d.origin;
  return index;
}

bool DropIndex::Describes(const nft::Ruleset& applied) const {
  DropIndex now = Walk(applied);
  if (now.group_ != group_ || now.by_prefix_.size() != by_prefix_.size()) return false;
  for (const auto& [prefix, d] : now.by_prefix_) {
    const DroppingRule* have = Find(prefix);
    if (have == nullptr || have->family != d.family || have->table != d.table || have->chain != d.chain ||
        have->rule != d.rule || have->origin != d.origin || have->group != d.group)
      return false;
  }
  return true;
}

const DroppingRule* DropIndex::Find(const std::string& prefix) const {
  auto it = by_prefix_.find(prefix);
  return it == by_prefix_.end() ? nullptr : &it->second;
}

}  // namespace ipo::droplog
