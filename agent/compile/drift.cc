#include "compile/drift.h"

#include <algorithm>
#include <set>

namespace ipo::compile {
namespace {

std::string TableName(const nft::Table& t) { return std::string(nft::FamilyName(t.family)) + " " + t.name; }

const nft::Chain* FindChain(const nft::Table& t, const std::string& name) {
  for (const nft::Chain& c : t.chains)
    if (c.name == name) return &c;
  return nullptr;
}

std::string BaseToString(const std::optional<nft::BaseChainSpec>& b) {
  if (!b) return "regular";
  return std::string(nft::ChainTypeName(b->type)) + " hook " + nft::HookName(b->hook) + " priority " +
         std::to_string(b->priority) + (b->policy_drop ? " policy drop" : " policy accept");
}

void CompareSets(const std::string& where, const nft::Set& want, const nft::Set& got, std::vector<std::string>& out) {
  if (want.key != got.key || want.data != got.data || want.interval != got.interval) {
    out.push_back(where + ": set " + want.name + ": definition differs");
    return;
  }
  std::set<nft::Element> w(want.elements.begin(), want.elements.end());
  std::set<nft::Element> g(got.elements.begin(), got.elements.end());
  for (const auto& e : w)
    if (!g.count(e)) out.push_back(where + ": set " + want.name + ": missing element " + nft::ElementToString(e));
  for (const auto& e : g)
    if (!w.count(e)) out.push_back(where + ": set " + want.name + ": unexpected element " + nft::ElementToString(e));
}

void CompareChains(const std::string& where, const nft::Chain& want, const nft::Chain& got,
                   std::vector<std::string>& out) {
  std::string base_w = BaseToString(want.base);
  std::string base_g = BaseToString(got.base);
  if (base_w != base_g) out.push_back(where + ": chain " + want.name + ": is " + base_g + ", expected " + base_w);
  size_t n = std::max(want.rules.size(), got.rules.size());
  for (size_t i = 0; i < n; ++i) {
    std::string w = i < want.rules.size() ? "\"" + want.rules[i].Tag() + "\"" : "nothing";
    std::string g = i < got.rules.size() ? "\"" + got.rules[i].comment + "\"" : "missing";
    if (i < want.rules.size() && i < got.rules.size() && want.rules[i].Tag() == got.rules[i].comment) continue;
    out.push_back(where + ": chain " + want.name + ": rule " + std::to_string(i + 1) + " is " + g + ", expected " + w);
  }
}

}  // namespace

std::vector<std::string> FindDrift(const nft::Ruleset& expected, const nft::Ruleset& kernel) {
  std::vector<std::string> out;
  for (const nft::Table& want : expected.tables) {
    std::string where = TableName(want);
    const nft::Table* got = kernel.FindTable(want.family, want.name);
    if (!got) {
      out.push_back(where + ": table missing");
      continue;
    }
    for (const nft::Set& s : want.sets) {
      const nft::Set* gs = got->FindSet(s.name);
      if (!gs) out.push_back(where + ": set " + s.name + " missing");
      else CompareSets(where, s, *gs, out);
    }
    for (const nft::Set& s : got->sets)
      if (!want.FindSet(s.name)) out.push_back(where + ": unexpected set " + s.name);
    for (const nft::Chain& c : want.chains) {
      const nft::Chain* gc = FindChain(*got, c.name);
      if (!gc) out.push_back(where + ": chain " + c.name + " missing");
      else CompareChains(where, c, *gc, out);
    }
    for (const nft::Chain& c : got->chains)
      if (!FindChain(want, c.name)) out.push_back(where + ": unexpected chain " + c.name);
  }
  return out;
}

}  // namespace ipo::compile
