// Integration tests of DockerClient::StreamEvents against a real dockerd (docker_itest_lab.h
// describes the lab): order, since= replay, stopping, CPU when idle, a dockerd that dies.
#include "docker/docker_client.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "docker/docker_itest_lab.h"

namespace ipo::docker::itest {
namespace {

TEST_CASE("StreamEvents delivers events in order and since= replays missed ones",
          "[docker][client][events]") {
  auto client = NewClient();
  EnsureNetwork(*client);
  RemoveContainer("ipo-dkt-ev");
  // since = now guards against the race between subscribing and the first action.
  const int64_t t0 = NowNano();
  std::string id;
  int64_t last_seen = 0;
  {
    EventCollector live(*client, t0);
    id = RunContainer("ipo-dkt-ev", kNet);
    REQUIRE(client->ConnectNetwork("bridge", "ipo-dkt-ev").ok());
    REQUIRE(LabCall("POST", "/containers/ipo-dkt-ev/kill") == 204);
    REQUIRE(live.WaitFor([&](const Event& e) { return e.id == id && e.action == "die"; }));
    const auto stopped_in = live.Stop();
    CHECK(live.result().ok());
    CHECK(stopped_in < 300ms);
    const auto events = live.events();
    const auto story = Story(events, id);
    INFO("story: " << Catch::Detail::stringify(story));
    CHECK(InOrder(story, {"container create", std::string("network connect ") + kNet,
                          "container start", "network connect bridge", "container kill",
                          "container die"}));
    for (size_t i = 1; i < events.size(); ++i) CHECK(events[i - 1].time_nano <= events[i].time_nano);
    CHECK(std::all_of(events.begin(), events.end(), [](const Event& e) {
      return e.type == "container" || e.type == "network";
    }));
    last_seen = events.back().time_nano;
  }

  // Missed while nobody listened: a start and a destroy.
  REQUIRE(LabCall("POST", "/containers/ipo-dkt-ev/start") == 204);
  RemoveContainer("ipo-dkt-ev");

  EventCollector replay(*client, last_seen + 1);
  REQUIRE(replay.WaitFor([&](const Event& e) { return e.id == id && e.action == "destroy"; }));
  replay.Stop();
  const auto replayed = replay.events();
  CHECK(replayed.front().time_nano > last_seen);
  const auto story = Story(replayed, id);
  INFO("story: " << Catch::Detail::stringify(story));
  CHECK(InOrder(story, {std::string("network connect ") + kNet, "container start",
                        "container kill", "container die", "container destroy"}));
  CHECK(std::find(story.begin(), story.end(), "container create") == story.end());

  // since is inclusive: resuming at an event's own timeNano sends that event again.
  EventCollector inclusive(*client, replayed.front().time_nano);
  REQUIRE(inclusive.WaitFor([&](const Event& e) { return e.id == id && e.action == "destroy"; }));
  inclusive.Stop();
  CHECK(inclusive.events().front().time_nano == replayed.front().time_nano);
  CHECK(inclusive.events().front().action == replayed.front().action);
}

TEST_CASE("should_stop ends an idle stream quickly", "[docker][client][events]") {
  auto client = NewClient();
  // Odd delays, so stop requests land at different points of the 100 ms poll cycle.
  for (auto delay : {310ms, 347ms, 389ms, 433ms}) {
    EventCollector idle(*client, 0);
    std::this_thread::sleep_for(delay);
    const auto took = idle.Stop();
    CHECK(idle.result().ok());
    CHECK(idle.events().empty());
    CHECK(took < 250ms);
    WARN("StreamEvents returned " << took.count() << " ms after should_stop turned true");
  }
}

TEST_CASE("An idle stream does not spin", "[docker][client][events]") {
  auto client = NewClient();
  auto cpu = [] {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return std::chrono::seconds(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           std::chrono::microseconds(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  };
  const auto before = cpu();
  EventCollector idle(*client, 0);
  std::this_thread::sleep_for(2s);
  idle.Stop();
  const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(cpu() - before);
  WARN("CPU used by 2 s of idle streaming: " << used.count() << " ms; should_stop polled "
       << idle.polls() << " times");
  CHECK(idle.polls() >= 10);  // polled while idle, not only when data arrives
  CHECK(used < 100ms);
}

TEST_CASE("Requests and an event stream run from two threads at once", "[docker][client][events]") {
  auto client = NewClient();
  EventCollector stream(*client, 0);
  for (int i = 0; i < 20; ++i) {
    auto nets = client->ListNetworks();
    REQUIRE(nets.ok());
  }
  stream.Stop();
  CHECK(stream.result().ok());
}

TEST_CASE("A dockerd that goes away ends the stream with kUnavailable", "[kill]") {
  auto client = NewClient();
  const pid_t pid = static_cast<pid_t>(std::stol(Env("IPO_DOCKERD_PID")));
  const int sig = Env("IPO_KILL_SIGNAL") == "TERM" ? SIGTERM : SIGKILL;
  EventCollector stream(*client, 0);
  std::this_thread::sleep_for(300ms);
  REQUIRE_FALSE(stream.WaitDone(0ms).has_value());
  REQUIRE(kill(pid, sig) == 0);
  auto result = stream.WaitDone(20s);
  REQUIRE(result.has_value());
  CHECK(result->code() == Status::Code::kUnavailable);
  CHECK(result->message().rfind("GET /v1.41/events?filters=", 0) == 0);
  WARN("stream ended with: " << result->message());

  // The daemon is gone: requests fail as kUnavailable too, and quickly.
  std::this_thread::sleep_for(200ms);
  const auto start = Clock::now();
  Status after = client->StreamEvents(0, [](const Event&) {},
                                      [&] { return Clock::now() - start > 5s; });
  CHECK(after.code() == Status::Code::kUnavailable);
}

}  // namespace
}  // namespace ipo::docker::itest
