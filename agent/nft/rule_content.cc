#include "nft/rule_content.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include <libnftnl/expr.h>

#include "nft/expr_encoder.h"
#include "nft/nftnl_handles.h"

namespace ipo::nft {
namespace {

struct IterDeleter {
  void operator()(nftnl_expr_iter* it) const { nftnl_expr_iter_destroy(it); }
};

}  // namespace

std::string RuleContent(const nftnl_rule* rule) {
  std::string out;
  std::unique_ptr<nftnl_expr_iter, IterDeleter> it(nftnl_expr_iter_create(rule));
  if (!it) return out;
  std::array<char, 1024> buf{};
  for (nftnl_expr* e = nftnl_expr_iter_next(it.get()); e != nullptr; e = nftnl_expr_iter_next(it.get())) {
    const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    if (!out.empty()) out += ' ';
    if (name != nullptr && std::strcmp(name, "counter") == 0) {
      out += "[ counter ]";  // its values change with traffic
      continue;
    }
    int n = nftnl_expr_snprintf(buf.data(), buf.size(), e, NFTNL_OUTPUT_DEFAULT, 0);
    out += "[ ";
    out += name != nullptr ? name : "?";
    out += ' ';
    if (n > 0) out.append(buf.data(), std::min(static_cast<size_t>(n), buf.size() - 1));
    out += " ]";
  }
  return out;
}

std::optional<Counts> RuleCounts(const nftnl_rule* rule) {
  std::unique_ptr<nftnl_expr_iter, IterDeleter> it(nftnl_expr_iter_create(rule));
  for (nftnl_expr* e = it ? nftnl_expr_iter_next(it.get()) : nullptr; e != nullptr; e = nftnl_expr_iter_next(it.get())) {
    const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    if (name == nullptr || std::strcmp(name, "counter") != 0) continue;
    return Counts{nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS), nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES)};
  }
  return std::nullopt;
}

Result<std::string> ExpectedRuleContent(const Table& table, const Rule& rule) {
  RulePtr r(nftnl_rule_alloc());
  EncodeContext ctx{&table, {}};
  IPO_RETURN_IF_ERROR(EncodeRuleExprs(rule, ctx, r.get()));
  // The kernel dumps what it keeps, defaults included, while the encoder, like nft, sends
  // only what is set: a lookup's flags are always dumped (0 unless inverted); a nat's
  // max registers default to its min ones and its flags gain NF_NAT_RANGE_MAP_IPS (1) and
  // NF_NAT_RANGE_PROTO_SPECIFIED (2) for the registers given (nft_nat_init()).
  std::unique_ptr<nftnl_expr_iter, IterDeleter> it(nftnl_expr_iter_create(r.get()));
  for (nftnl_expr* e = it ? nftnl_expr_iter_next(it.get()) : nullptr; e != nullptr; e = nftnl_expr_iter_next(it.get())) {
    const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    if (name == nullptr) continue;
    if (std::strcmp(name, "lookup") == 0 && !nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS))
      nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
    if (std::strcmp(name, "nat") == 0) {
      uint32_t flags = nftnl_expr_is_set(e, NFTNL_EXPR_NAT_FLAGS) ? nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FLAGS) : 0;
      if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MIN)) {
        flags |= 1;
        if (!nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MAX))
          nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN));
      }
      if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_PROTO_MIN)) {
        flags |= 2;
        if (!nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_PROTO_MAX))
          nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN));
      }
      if (flags != 0) nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
    }
  }
  return RuleContent(r.get());
}

}  // namespace ipo::nft
