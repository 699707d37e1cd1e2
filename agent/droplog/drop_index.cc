#include "droplog/drop_index.h"

#include <variant>

#include "common/json_lines.h"

namespace ipo::droplog {

DropIndex DropIndex::Build(const nft::Ruleset& applied, const std::string& policy_file, std::string_view policy_text) {
  DropIndex index;
  JsonLines lines(policy_text);
  for (const nft::Table& t : applied.tables) {
    for (const nft::Chain& c : t.chains) {
      for (size_t i = 0; i < c.rules.size(); ++i) {
        const nft::Rule& twin = c.rules[i];
        const auto* log = twin.exprs.empty() ? nullptr : std::get_if<nft::Log>(&twin.exprs.back());
        if (log == nullptr) continue;
        // The twin precedes its drop rule; a log rule at a chain's end names only itself.
        const nft::Rule& drop = i + 1 < c.rules.size() ? c.rules[i + 1] : twin;
        DroppingRule d{nft::FamilyName(t.family), t.name, c.name, drop.comment, ""};
        if (!drop.origin.empty())
          d.policy = policy_file + ":" + std::to_string(lines.LineOf(drop.origin)) + " " + drop.origin;
        index.by_prefix_.emplace(log->prefix, std::move(d));
        if (!index.group_) index.group_ = log->group;
      }
    }
  }
  return index;
}

const DroppingRule* DropIndex::Find(const std::string& prefix) const {
  auto it = by_prefix_.find(prefix);
  return it == by_prefix_.end() ? nullptr : &it->second;
}

}  // namespace ipo::droplog
