#include "droplog/drop_watch.h"

#include <net/if.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>

#include <array>
#include <thread>
#include <utility>

#include "droplog/attribute.h"

namespace ipo::droplog {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Endpoint(const std::string& addr, uint16_t port) {
  if (port == 0) return addr;
  return (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

}  // namespace

DropWatch::DropWatch(DropRing& ring, Options options) : ring_(ring), opt_(std::move(options)) {}

void DropWatch::SetIndex(std::shared_ptr<const DropIndex> index) {
  std::lock_guard<std::mutex> lock(mu_);
  index_ = std::move(index);
}

std::string DropWatch::IfName(uint32_t ifindex) {
  if (auto it = ifnames_.find(ifindex); it != ifnames_.end()) return it->second;
  std::array<char, IF_NAMESIZE> buf{};
  std::string name = if_indextoname(ifindex, buf.data()) != nullptr ? buf.data() : "if" + std::to_string(ifindex);
  if (ifnames_.size() >= 1024) ifnames_.clear();  // interfaces come and go; indexes are reused
  ifnames_.emplace(ifindex, name);
  return name;
}

void DropWatch::Handle(const nft::NflogPacket& p) {
  std::shared_ptr<const DropIndex> index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = index_;
  }
  DropRecord r = Attribute(p, index ? *index : DropIndex{}, NowNanos(), [this](uint32_t i) { return IfName(i); });
  bool journal = false;
  std::string note;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t second = NowNanos() / 1000000000;
    if (second != journal_second_) {
      if (journal_held_ > 0)
        note = std::to_string(journal_held_) + " more dropped packets logged in the last second (not journaled; "
               "`ipo-netctl drops` has them)";
      journal_second_ = second;
      journal_count_ = 0;
      journal_held_ = 0;
    }
    journal = journal_count_ < kJournalPerSecond;
    if (journal) {
      ++journal_count_;
    } else {
      ++journal_held_;
      ++suppressed_;
    }
  }
  if (!note.empty() && opt_.journal_note) opt_.journal_note(note);
  if (journal && opt_.journal) opt_.journal(r);
  ring_.Push(std::move(r));
}

void DropWatch::Run(const std::atomic<bool>& stopping) {
  std::unique_ptr<nft::NflogListener> listener;
  auto last_try = std::chrono::steady_clock::time_point{};
  int failed_group = -1;  // the group the last failed attempt was for
  std::chrono::seconds budget_second{0};
  int read_this_second = 0;
  auto last_throttle_warning = std::chrono::steady_clock::time_point{};
  while (!stopping.load()) {
    std::optional<uint16_t> want;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (index_) want = index_->group();
    }
    std::optional<uint16_t> have = listener ? std::optional<uint16_t>(listener->group()) : std::nullopt;
    if (want != have) {
      listener.reset();
      std::string error;
      auto now = std::chrono::steady_clock::now();
      if (want && (failed_group != int{*want} || now - last_try >= opt_.retry)) {
        last_try = now;
        auto opened = nft::NflogListener::Open(*want);
        if (opened.ok()) {
          listener = std::move(*opened);
          failed_group = -1;
        } else {
          error = opened.status().message();
          failed_group = *want;
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (listener) spdlog::info("drop log: reading nflog group {}", listener->group());
      else if (!want && have) spdlog::info("drop log: off (the policy's drop_log is disabled)");
      else if (!error.empty() && error != error_)
        spdlog::warn("drop log: {}; retrying every {} s", error, opt_.retry.count());
      bound_ = listener ? std::optional<uint16_t>(listener->group()) : std::nullopt;
      if (!error.empty()) error_ = error;
      else if (!want || listener) error_.clear();  // nothing to read, or read: no error
      // else: a retry is not due yet; the last error stands
    }
    if (!listener) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    // The read budget: at most kMaxRecordsPerSecond a second; past it, stop reading until the
    // next second and let the kernel drop what does not fit the socket buffer.
    auto second = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch());
    if (second != budget_second) {
      budget_second = second;
      read_this_second = 0;
    }
    if (read_this_second >= kMaxRecordsPerSecond) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++throttled_seconds_;
      }
      if (auto now = std::chrono::steady_clock::now(); now - last_throttle_warning >= std::chrono::minutes(1)) {
        last_throttle_warning = now;
        spdlog::warn("drop log: more than {} records a second reach nflog group {}; reading {} a second, the kernel "
                     "drops the rest (is someone else's rule logging to the same group?)",
                     kMaxRecordsPerSecond, listener->group(), kMaxRecordsPerSecond);
      }
      while (!stopping.load() && std::chrono::steady_clock::now().time_since_epoch() < budget_second + std::chrono::seconds(1))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    bool overrun = false;
    Status st = listener->Poll(
        std::chrono::milliseconds(200),
        [&](const nft::NflogPacket& p) {
          Handle(p);
          ++read_this_second;
        },
        overrun, /*max_reads=*/16);
    std::lock_guard<std::mutex> lock(mu_);
    if (overrun) ++overruns_;
    if (!st.ok()) {
      spdlog::warn("drop log: {}; binding the group again", st.message());
      error_ = st.message();
      listener.reset();
      bound_.reset();
    }
  }
}

nlohmann::json DropWatch::Page(uint64_t after, size_t max) const {
  DropRing::Page page = ring_.Since(after, max);
  nlohmann::json records = nlohmann::json::array();
  for (const DropRecord& r : page.records) records.push_back(ToJson(r));
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<uint16_t> want = index_ ? index_->group() : std::nullopt;
  return {{"group", want ? nlohmann::json(*want) : nlohmann::json(nullptr)},
          {"listening", bound_.has_value()},
          {"error", error_},
          {"records", std::move(records)},
          {"next", page.next},
          {"missed", page.missed},
          {"logged_total", ring_.total()},
          {"overruns", overruns_},
          {"throttled_seconds", throttled_seconds_},
          {"journal_suppressed", suppressed_}};
}

void JournalDrop(const DropRecord& r) {
  std::string msg = "dropped " + Endpoint(r.src, r.sport) + " -> " + Endpoint(r.dst, r.dport) + " " + r.proto +
                    (r.rule.empty() ? " (log prefix \"" + r.prefix + "\")" : " by " + r.table + " " + r.chain + ": " + r.rule) +
                    (r.policy.empty() ? "" : " (policy " + r.policy + ")");
  sd_journal_send("MESSAGE=%s", msg.c_str(), "PRIORITY=5", "SYSLOG_IDENTIFIER=ipo-netd", "IPO_EVENT=drop",
                  "IPO_SRC=%s", r.src.c_str(), "IPO_DST=%s", r.dst.c_str(), "IPO_PROTO=%s", r.proto.c_str(),
                  "IPO_SPORT=%u", static_cast<unsigned>(r.sport), "IPO_DPORT=%u", static_cast<unsigned>(r.dport),
                  "IPO_IN=%s", r.in.c_str(), "IPO_OUT=%s", r.out.c_str(), "IPO_TABLE=%s %s", r.family.c_str(),
                  r.table.c_str(), "IPO_CHAIN=%s", r.chain.c_str(), "IPO_RULE=%s", r.rule.c_str(),
                  "IPO_POLICY=%s", r.policy.c_str(), "IPO_LOG_PREFIX=%s", r.prefix.c_str(), nullptr);
}

void JournalNoteText(const std::string& text) {
  sd_journal_send("MESSAGE=%s", text.c_str(), "PRIORITY=5", "SYSLOG_IDENTIFIER=ipo-netd", "IPO_EVENT=drop-summary",
                  nullptr);
}

}  // namespace ipo::droplog
