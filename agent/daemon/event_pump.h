// WorkQueue and EventPump: how Docker events and other requests reach the reconcile loop.
//
// EventPump runs on its own thread: it negotiates the API version, announces the
// connection, follows GET /events (replaying from the last event seen, since=), and on any
// failure announces the disconnection and retries with backoff (0.2 s doubling to 5 s).
// Everything it learns goes into the WorkQueue, which the reconcile loop drains.
//
// Thread safety: WorkQueue is thread-safe. EventPump::Run on one thread; Stop from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "docker/docker_api.h"

namespace ipo::daemon {

struct WorkItem {
  // kTamper: someone else changed the agent's tables (nft/nft_monitor.h).
  enum class Kind { kEvent, kConnected, kDisconnected, kResync, kReload, kStop, kTamper, kMonitorLost };
  Kind kind = Kind::kResync;
  docker::Event event;  // kEvent
  std::string detail;   // kConnected: API version; kDisconnected, kTamper, kMonitorLost: what happened
  std::chrono::steady_clock::time_point at{};  // kTamper: when it was noticed
};

class WorkQueue {
 public:
  void Push(WorkItem item);
  // Waits until an item arrives or `timeout` passes; nullopt on timeout.
  std::optional<WorkItem> Pop(std::chrono::milliseconds timeout);
  // An item if one is ready, without waiting.
  std::optional<WorkItem> TryPop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WorkItem> items_;
};

class EventPump {
 public:
  // `since_nano`: replay events after this time on the first connection (0: from now).
  EventPump(docker::DockerApi& docker, WorkQueue& queue, int64_t since_nano);
  void Run();
  void Stop() { stop_ = true; }

 private:
  docker::DockerApi& docker_;
  WorkQueue& queue_;
  int64_t since_nano_;
  std::atomic<bool> stop_{false};
};

// True for Docker events that can change placement or addresses (not exec, attach, ...).
bool Relevant(const docker::Event& e);

// What an event is about, for logs: the container's or network's name, else the container
// id a network event names, else the actor id (12 characters).
std::string EventSubject(const docker::Event& e);

}  // namespace ipo::daemon
