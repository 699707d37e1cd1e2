// ElementCodec: the bytes nftables uses for set/map keys and data, and the kernel's form of
// interval elements. It owns the mapping from ruleset.h's Type/Value to nft datatype ids,
// lengths and byte layouts, in both directions, so the writer and the reader agree.
//
// Layouts (as nft 1.0.6 writes them): ipv4_addr 4 bytes and ipv6_addr 16 bytes in network
// order; inet_proto 1 byte; inet_service 2 bytes network order; ifname 16 bytes NUL-padded.
// In a concatenation every component is padded to a multiple of 4 bytes (one register each).
// An interval set stores range [lo, hi] as two elements: `lo`, and `hi + 1` flagged
// NFT_SET_ELEM_INTERVAL_END (none when hi is the largest value).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "ruleset/ruleset.h"

namespace ipo::nft {

using Bytes = std::vector<uint8_t>;

// nft's datatype ids (nftables include/datatype.h: TYPE_IPADDR 7, TYPE_IP6ADDR 8,
// TYPE_INET_PROTOCOL 12, TYPE_INET_SERVICE 13, TYPE_IFNAME 41).
uint32_t TypeId(Type t);
// Value length in bytes, unpadded: 4, 16, 1, 2, 16.
uint32_t TypeLen(Type t);
// The NFTA_SET_KEY_TYPE / DATA_TYPE of a (possibly concatenated) type: ids joined 6 bits each.
uint32_t ConcatTypeId(const std::vector<Type>& types);
// NFTA_SET_KEY_LEN / DATA_LEN: the one type's length, or the sum of 4-byte-padded lengths.
uint32_t ConcatLen(const std::vector<Type>& types);
// Inverse of ConcatTypeId; checks `len` against ConcatLen. Error names the unknown id.
Result<std::vector<Type>> SplitConcatTypeId(uint32_t id, uint32_t len);

// Encodes `values` laid out as a key or data of `types`.
// Error when arity or a value's alternative does not match the types.
Result<Bytes> EncodeValues(const std::vector<Type>& types, const std::vector<Value>& values);
Result<std::vector<Value>> DecodeValues(const std::vector<Type>& types, const Bytes& bytes);

// One element as the kernel holds it.
struct RawElement {
  Bytes key;
  Bytes data;                 // maps only
  bool interval_end = false;  // NFT_SET_ELEM_INTERVAL_END
};

// The kernel elements for one Element of `set` (one, or two for an interval set).
Result<std::vector<RawElement>> EncodeElement(const Set& set, const Element& e);
// The element nft adds first to every new interval set: key all zero, interval end.
RawElement IntervalLeadingEnd(const Set& set);
// Turns kernel elements (in any order) back into Elements, ranges re-joined, sorted.
Result<std::vector<Element>> DecodeElements(const Set& set, std::vector<RawElement> raw);

}  // namespace ipo::nft
