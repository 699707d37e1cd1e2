#include "status/rule_counters.h"

#include <map>
#include <utility>
#include <variant>

namespace ipo::status {

std::string RuleAction(const nft::Rule& rule) {
  if (rule.exprs.empty()) return "continue";
  const nft::Expr& last = rule.exprs.back();
  if (const auto* v = std::get_if<nft::Verdict>(&last)) {
    switch (v->kind) {
      case nft::VerdictKind::kAccept: return "accept";
      case nft::VerdictKind::kDrop: return "drop";
      case nft::VerdictKind::kReturn: return "return";
      case nft::VerdictKind::kJump: return "jump " + v->chain;
    }
  }
  if (const auto* d = std::get_if<nft::DnatMap>(&last)) return "dnat @" + d->map;
  if (std::holds_alternative<nft::Masquerade>(last)) return "masquerade";
  if (std::holds_alternative<nft::Log>(last)) return "log";
  return "continue";
}

std::vector<RuleCounter> RuleCounters(const nft::Ruleset& applied, const nft::Ruleset& kernel) {
  std::vector<RuleCounter> out;
  for (const nft::Table& kt : kernel.tables) {
    const nft::Table* at = applied.FindTable(kt.family, kt.name);
    for (const nft::Chain& kc : kt.chains) {
      std::map<std::string, const nft::Rule*> by_tag;  // what the agent wrote in this chain
      if (at != nullptr) {
        for (const nft::Chain& ac : at->chains) {
          if (ac.name != kc.name) continue;
          for (const nft::Rule& r : ac.rules) by_tag.emplace(r.Tag(), &r);
        }
      }
      for (const nft::Rule& kr : kc.rules) {
        if (!kr.counts) continue;
        RuleCounter row{nft::FamilyName(kt.family), kt.name, kc.name, kr.comment, "?", kr.counts->packets,
                        kr.counts->bytes};
        // An exact tag: the agent's rule, as written (content that differs is appended to it).
        if (auto it = by_tag.find(kr.comment); it != by_tag.end()) {
          row.rule = it->second->comment;
          row.action = RuleAction(*it->second);
        }
        out.push_back(std::move(row));
      }
    }
  }
  return out;
}

}  // namespace ipo::status
