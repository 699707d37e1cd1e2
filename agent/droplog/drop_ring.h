// DropRing: the last dropped packets the kernel logged, attributed to their drop rule and
// policy entry, kept in a fixed-size ring for `ipo-netctl drops` (over the D-Bus method
// Drops(after), docs/dbus.md). A reader pages with the sequence number it last saw; what the
// ring overwrote before the reader came back is counted as missed, never silently skipped.
//
// Memory is bounded by the capacity (a record is a few hundred bytes; strings are short),
// whatever the packet rate: the log rules are rate-limited in the kernel anyway.
//
// Thread safety: all methods are thread-safe (one mutex; Push from the listener thread,
// Since from the bus thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace ipo::droplog {

struct DropRecord {
  uint64_t seq = 0;         // 1, 2, ... in the order the agent read them (set by Push)
  int64_t unix_nanos = 0;   // when the kernel logged it (else when the agent read it)
  std::string src, dst;     // addresses; "" for a packet without an IP header
  std::string proto;        // "tcp", "udp", "icmp", "icmpv6", "proto 47", ""
  uint16_t sport = 0, dport = 0;
  std::string in, out;      // interface names ("" none)
  std::string family, table, chain, rule, policy;  // the drop rule (DropIndex); rule "" unknown
  std::string prefix;       // the log prefix as the kernel sent it
};

nlohmann::json ToJson(const DropRecord& r);
// The inverse of ToJson; InvalidArgument naming the key when a field is missing or mistyped.
Result<DropRecord> DropRecordFromJson(const nlohmann::json& j);

class DropRing {
 public:
  explicit DropRing(size_t capacity);

  // Appends `r` with the next sequence number, dropping the oldest record when full.
  void Push(DropRecord r);

  struct Page {
    std::vector<DropRecord> records;  // seq > after, oldest first, at most `max`
    uint64_t next = 0;                // pass as `after` next time (a cursor past the ring's
                                      // last record, from before a restart, starts over at 0)
    uint64_t missed = 0;              // records after `after` already overwritten
  };
  Page Since(uint64_t after, size_t max) const;
  uint64_t total() const;  // records ever pushed

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<DropRecord> ring_;
  uint64_t last_seq_ = 0;
};

}  // namespace ipo::droplog
