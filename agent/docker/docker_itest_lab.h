// The lab side of the DockerClient integration tests (docker_client_itest.cc,
// docker_events_itest.cc), run by docker_client_itest.sh inside dockerd's network namespace.
// Environment: IPO_DOCKER_HOST (unix:///.../docker.sock), IPO_DOCKERD_PID (for [kill]),
// IPO_KILL_SIGNAL ("KILL" or "TERM", for [kill]), IPO_DOCKER_IMAGE (busybox image).
// Containers are made with plain HTTP calls (LabCall), not with the client under test.
// The helpers REQUIRE what they need (Catch2), so they end the test case that calls them.
#pragma once

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "docker/docker_client.h"

namespace ipo::docker::itest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline constexpr char kNet[] = "ipo-dkt-net";
inline constexpr char kBridge[] = "ipo-dkt0";

// The value of environment variable `name`; REQUIREs that it is set.
std::string Env(const char* name);
// A client of IPO_DOCKER_HOST, API version negotiated.
std::unique_ptr<DockerClient> NewClient();
// Wall-clock time, for StreamEvents' since.
int64_t NowNano();
// A plain HTTP call to dockerd for the test's own setup; returns the HTTP code.
long LabCall(const std::string& method, const std::string& path, const std::string& body = "",
             std::string* out = nullptr);
// Creates and starts container `name` on `network`; returns its id.
std::string RunContainer(const std::string& name, const std::string& network,
                         const nlohmann::json& extra_host_config = nlohmann::json::object());
// Removes container `name` if it exists.
void RemoveContainer(const std::string& name);
// Creates kNet (bridge kBridge, 10.91.0.0/24 and fd91::/64, no ICC) unless it exists.
void EnsureNetwork(DockerClient& client);
// The endpoint of `c` on `network`, or nullptr.
const Endpoint* FindEndpoint(const ContainerInfo& c, const std::string& network);

// Collects events from StreamEvents on a thread until Stop().
class EventCollector {
 public:
  EventCollector(DockerClient& client, int64_t since_nano);
  ~EventCollector();

  // Waits up to `timeout` for an event matching `pred`; true when one arrived.
  template <typename Pred>
  bool WaitFor(Pred pred, std::chrono::milliseconds timeout = 15s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return done_ || std::any_of(events_.begin(), events_.end(), pred);
    }) && std::any_of(events_.begin(), events_.end(), pred);
  }
  // Waits up to `timeout` for StreamEvents to return; its Status, or nullopt.
  std::optional<Status> WaitDone(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return done_; })) return std::nullopt;
    return result_;
  }
  // Asks the stream to stop; returns how long StreamEvents took to return.
  std::chrono::milliseconds Stop() {
    const auto start = Clock::now();
    stop_ = true;
    thread_.join();
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  Status result() {
    std::lock_guard lock(mu_);
    return result_;
  }
  // How often StreamEvents has called should_stop.
  int polls() const { return polls_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  Status result_ = Status::Internal("still running");
  bool done_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> polls_{0};
  std::thread thread_;
};

// "<type> <action> <network name>" for events about container `id`, in stream order.
std::vector<std::string> Story(const std::vector<Event>& events, const std::string& id);
// True when `want` occurs in `story` in this order (other entries may come between).
bool InOrder(const std::vector<std::string>& story, const std::vector<std::string>& want);

}  // namespace ipo::docker::itest
