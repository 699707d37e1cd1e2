#include "droplog/drop_ring.h"

#include <algorithm>
#include <utility>

namespace ipo::droplog {

nlohmann::json ToJson(const DropRecord& r) {
  return {{"seq", r.seq},       {"unix_nanos", r.unix_nanos}, {"src", r.src},       {"dst", r.dst},
          {"proto", r.proto},   {"sport", r.sport},           {"dport", r.dport},   {"in", r.in},
          {"out", r.out},       {"family", r.family},         {"table", r.table},   {"chain", r.chain},
          {"rule", r.rule},     {"policy", r.policy},         {"prefix", r.prefix}};
}

Result<DropRecord> DropRecordFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("a drop record is not an object");
  DropRecord r;
  auto str = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto num = [&](const char* key, auto& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return false;
    out = it->get<std::decay_t<decltype(out)>>();
    return true;
  };
  for (auto [key, field] : {std::pair{"src", &r.src}, {"dst", &r.dst}, {"proto", &r.proto}, {"in", &r.in},
                            {"out", &r.out}, {"family", &r.family}, {"table", &r.table}, {"chain", &r.chain},
                            {"rule", &r.rule}, {"policy", &r.policy}, {"prefix", &r.prefix}}) {
    if (!str(key, *field)) return Status::InvalidArgument(std::string("drop record: ") + key + ": not a string");
  }
  if (!num("seq", r.seq)) return Status::InvalidArgument("drop record: seq: not an integer");
  if (!num("unix_nanos", r.unix_nanos)) return Status::InvalidArgument("drop record: unix_nanos: not an integer");
  if (!num("sport", r.sport)) return Status::InvalidArgument("drop record: sport: not an integer");
  if (!num("dport", r.dport)) return Status::InvalidArgument("drop record: dport: not an integer");
  return r;
}

DropRing::DropRing(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void DropRing::Push(DropRecord r) {
  std::lock_guard<std::mutex> lock(mu_);
  r.seq = ++last_seq_;
  if (ring_.size() == capacity_) ring_.pop_front();
  ring_.push_back(std::move(r));
}

DropRing::Page DropRing::Since(uint64_t after, size_t max) const {
  std::lock_guard<std::mutex> lock(mu_);
  Page page;
  if (after > last_seq_) after = 0;  // a cursor from before the agent restarted: start over
  page.next = after;
  if (ring_.empty() || after >= last_seq_) return page;
  uint64_t first = ring_.front().seq;
  if (after + 1 < first) page.missed = first - after - 1;
  size_t start = after < first ? 0 : static_cast<size_t>(after + 1 - first);
  for (size_t i = start; i < ring_.size() && page.records.size() < max; ++i) page.records.push_back(ring_[i]);
  if (!page.records.empty()) page.next = page.records.back().seq;
  return page;
}

uint64_t DropRing::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_seq_;
}

}  // namespace ipo::droplog
