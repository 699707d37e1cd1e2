// DropWatch: the agent's drop log. On its own thread it binds the nflog group the applied
// ruleset's log rules use (DropIndex::group(); none when the policy turns drop_log off), reads
// the packets the kernel logs, attributes each to its drop rule and policy entry
// (attribute.h), keeps it in the ring `ipo-netctl drops` reads (drop_ring.h) and writes it to
// the journal with structured fields (IPO_SRC, IPO_DST, IPO_DPORT, IPO_PROTO, IPO_RULE,
// IPO_POLICY, ...), at most kJournalPerSecond entries a second: the rest are counted and
// summed up in one entry a second.
//
// Cost is bounded whatever the drop rate: the kernel's limit statement caps what the log
// rules send (policy drop_log.per_second per rule), the socket buffer caps what can queue
// (a full one is an overrun, counted), the ring caps memory. And whatever someone else's
// rules send to the same group (an unlimited `log group 20`): the watch reads at most
// kMaxRecordsPerSecond a second and leaves the rest to the kernel, which drops what no longer
// fits the buffer (the seconds it stopped reading are counted as "throttled").
//
// Thread safety: Run on one thread; SetIndex and Page from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "droplog/drop_index.h"
#include "droplog/drop_ring.h"
#include "nft/nflog.h"

namespace ipo::droplog {

inline constexpr int kJournalPerSecond = 20;
// Far above what the agent's own log rules can send (10 a second and a burst of 20 for each of
// its few drop rules), far below what costs the agent a core.
inline constexpr int kMaxRecordsPerSecond = 2000;

class DropWatch {
 public:
  using Journal = std::function<void(const DropRecord&)>;           // one entry per record
  using JournalNote = std::function<void(const std::string& text)>;  // a plain message
  struct Options {
    Journal journal;           // nullptr: no journal
    JournalNote journal_note;  // nullptr: none
    std::chrono::seconds retry{5};  // between attempts to bind a group that is taken
  };
  DropWatch(DropRing& ring, Options options);

  // The index of the ruleset now applied; the group is (re)bound by Run when it changes.
  void SetIndex(std::shared_ptr<const DropIndex> index);
  // Reads the group until `stopping`; returns within ~200 ms of it.
  void Run(const std::atomic<bool>& stopping);

  // The Drops(after) document (docs/dbus.md): {"group", "listening", "error", "records",
  // "next", "missed", "logged_total", "overruns", "throttled_seconds", "journal_suppressed"}.
  nlohmann::json Page(uint64_t after, size_t max) const;

 private:
  void Handle(const nft::NflogPacket& p);
  std::string IfName(uint32_t ifindex);  // cached if_indextoname (Run's thread only)

  DropRing& ring_;
  Options opt_;
  mutable std::mutex mu_;
  std::shared_ptr<const DropIndex> index_;
  std::optional<uint16_t> bound_;  // the group bound now
  std::string error_;              // why the group is not bound ("" when it is, or none is wanted)
  uint64_t overruns_ = 0;
  uint64_t throttled_seconds_ = 0;
  std::map<uint32_t, std::string> ifnames_;  // Run's thread only
  uint64_t suppressed_ = 0;        // records not journaled, since the agent started
  // Journal rate cap: entries written in the current second, and records held back in it.
  int64_t journal_second_ = 0;
  int journal_count_ = 0;
  uint64_t journal_held_ = 0;
};

// Writes `r` to the journal (sd_journal_send) with MESSAGE "dropped SRC -> DST:PORT PROTO by
// TABLE CHAIN: RULE (policy ...)" and one IPO_* field per value; nothing without journald.
void JournalDrop(const DropRecord& r);
void JournalNoteText(const std::string& text);

}  // namespace ipo::droplog
