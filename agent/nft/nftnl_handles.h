// NftnlHandles: owning smart pointers for every libnftnl object the nft backend allocates
// (table, chain, set, set element, rule, expression, batch, udata buffer, generation), so
// no code path leaks one or frees one twice.
//
// Thread safety: plain owning pointers; one owner each.
#pragma once

#include <memory>

#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

namespace ipo::nft {

template <typename T, void (*Free)(T*)>
struct NftnlDeleter {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};

inline void FreeTable(nftnl_table* p) { nftnl_table_free(p); }
inline void FreeChain(nftnl_chain* p) { nftnl_chain_free(p); }
inline void FreeSet(nftnl_set* p) { nftnl_set_free(p); }
inline void FreeSetElem(nftnl_set_elem* p) { nftnl_set_elem_free(p); }
inline void FreeRule(nftnl_rule* p) { nftnl_rule_free(p); }
inline void FreeExpr(nftnl_expr* p) { nftnl_expr_free(p); }
inline void FreeBatch(nftnl_batch* p) { nftnl_batch_free(p); }
inline void FreeUdata(nftnl_udata_buf* p) { nftnl_udata_buf_free(p); }
inline void FreeGen(nftnl_gen* p) { nftnl_gen_free(p); }

using TablePtr = std::unique_ptr<nftnl_table, NftnlDeleter<nftnl_table, FreeTable>>;
using ChainPtr = std::unique_ptr<nftnl_chain, NftnlDeleter<nftnl_chain, FreeChain>>;
using SetPtr = std::unique_ptr<nftnl_set, NftnlDeleter<nftnl_set, FreeSet>>;
using SetElemPtr = std::unique_ptr<nftnl_set_elem, NftnlDeleter<nftnl_set_elem, FreeSetElem>>;
using RulePtr = std::unique_ptr<nftnl_rule, NftnlDeleter<nftnl_rule, FreeRule>>;
using ExprPtr = std::unique_ptr<nftnl_expr, NftnlDeleter<nftnl_expr, FreeExpr>>;
using BatchPtr = std::unique_ptr<nftnl_batch, NftnlDeleter<nftnl_batch, FreeBatch>>;
using GenPtr = std::unique_ptr<nftnl_gen, NftnlDeleter<nftnl_gen, FreeGen>>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, NftnlDeleter<nftnl_udata_buf, FreeUdata>>;

}  // namespace ipo::nft
