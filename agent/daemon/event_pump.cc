#include "daemon/event_pump.h"

#include <algorithm>
#include <set>
#include <thread>

#include "common/clock_text.h"

namespace ipo::daemon {

void WorkQueue::Push(WorkItem item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(item));
  }
  cv_.notify_one();
}

std::optional<WorkItem> WorkQueue::Pop(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !items_.empty(); })) return std::nullopt;
  WorkItem item = std::move(items_.front());
  items_.pop_front();
  return item;
}

std::optional<WorkItem> WorkQueue::TryPop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (items_.empty()) return std::nullopt;
  WorkItem item = std::move(items_.front());
  items_.pop_front();
  return item;
}

EventPump::EventPump(docker::DockerApi& docker, WorkQueue& queue, int64_t since_nano)
    : docker_(docker), queue_(queue), since_nano_(since_nano) {}

void EventPump::Run() {
  auto backoff = std::chrono::milliseconds(200);
  bool announced_down = false;
  while (!stop_) {
    auto version = docker_.Negotiate();
    if (version.ok()) {
      // The full list that kConnected starts may run before the stream below is open: the
      // stream starts a second before now, so no event after the list is missed (the model
      // is kept by look-ups; replaying an event costs one look-up, missing one a stale model).
      if (since_nano_ == 0) since_nano_ = NowNano() - 1000000000;
      queue_.Push({WorkItem::Kind::kConnected, {}, *version});
      announced_down = false;
      backoff = std::chrono::milliseconds(200);
      Status st = docker_.StreamEvents(
          since_nano_ ? since_nano_ + 1 : 0,
          [&](const docker::Event& e) {
            since_nano_ = std::max(since_nano_, e.time_nano);
            queue_.Push({WorkItem::Kind::kEvent, e, ""});
          },
          [&] { return stop_.load(); });
      if (stop_) break;
      queue_.Push({WorkItem::Kind::kDisconnected, {}, st.ok() ? "event stream ended" : st.message()});
      announced_down = true;
    } else if (!announced_down) {
      queue_.Push({WorkItem::Kind::kDisconnected, {}, version.status().message()});
      announced_down = true;
    }
    for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop_; waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

bool Relevant(const docker::Event& e) {
  if (e.type == "network") return true;
  if (e.type != "container") return false;
  static const std::set<std::string> kIgnored = {"exec_create", "exec_start", "exec_die", "exec_detach", "attach",
                                                 "detach", "resize", "top", "commit", "export", "copy",
                                                 "archive-path", "extract-to-dir"};
  if (e.action.rfind("exec_", 0) == 0 || e.action.rfind("health_status", 0) == 0) return false;
  return !kIgnored.count(e.action);
}

std::string EventSubject(const docker::Event& e) {
  auto name = e.attributes.find("name");
  if (name != e.attributes.end()) return name->second;
  auto container = e.attributes.find("container");
  if (container != e.attributes.end()) return container->second.substr(0, 12);
  return e.id.substr(0, 12);
}

}  // namespace ipo::daemon
