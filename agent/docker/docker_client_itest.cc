// Integration tests of DockerClient against a real dockerd, run by docker_client_itest.sh,
// which starts dockerd in its own network namespace and runs this binary inside it.
// Environment: IPO_DOCKER_HOST (unix:///.../docker.sock), IPO_DOCKERD_PID (for [kill]),
// IPO_KILL_SIGNAL ("KILL" or "TERM", for [kill]), IPO_DOCKER_IMAGE (busybox image).
// Containers are made with plain HTTP calls (LabCall), not with the client under test.
#include "docker/docker_client.h"

#include <curl/curl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace ipo::docker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kNet[] = "ipo-dkt-net";
constexpr char kBridge[] = "ipo-dkt0";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  INFO("environment variable " << name);
  REQUIRE(v != nullptr);
  return v;
}

std::unique_ptr<DockerClient> NewClient() {
  auto client = DockerClient::Create(Env("IPO_DOCKER_HOST"), 10s);
  REQUIRE(client.ok());
  REQUIRE((*client)->Negotiate().ok());
  return std::move(client).value();
}

int64_t NowNano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A plain HTTP call to dockerd for the test's own setup; returns the HTTP code.
long LabCall(const std::string& method, const std::string& path, const std::string& body = "",
             std::string* out = nullptr) {
  const std::string socket = Env("IPO_DOCKER_HOST").substr(7);
  CURL* h = curl_easy_init();
  REQUIRE(h != nullptr);
  std::string response;
  const std::string url = "http://docker/v1.41" + path;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  if (method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  }
  const CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  INFO(method << " " << path << " -> " << response);
  REQUIRE(rc == CURLE_OK);
  if (out != nullptr) *out = response;
  return code;
}

// Creates and starts container `name` on `network`; returns its id.
std::string RunContainer(const std::string& name, const std::string& network,
                         const nlohmann::json& extra_host_config = nlohmann::json::object()) {
  nlohmann::json host_config = {{"NetworkMode", network}};
  host_config.update(extra_host_config);
  const nlohmann::json spec = {{"Image", Env("IPO_DOCKER_IMAGE")},
                               {"Cmd", {"httpd", "-f", "-p", "80", "-h", "/www"}},
                               {"ExposedPorts", {{"80/tcp", nlohmann::json::object()}}},
                               {"HostConfig", host_config}};
  std::string out;
  REQUIRE(LabCall("POST", "/containers/create?name=" + name, spec.dump(), &out) == 201);
  std::string id = nlohmann::json::parse(out).at("Id").get<std::string>();
  REQUIRE(LabCall("POST", "/containers/" + id + "/start") == 204);
  return id;
}

void RemoveContainer(const std::string& name) {
  const long code = LabCall("DELETE", "/containers/" + name + "?force=1");
  REQUIRE((code == 204 || code == 404));
}

void EnsureNetwork(DockerClient& client) {
  auto nets = client.ListNetworks();
  REQUIRE(nets.ok());
  for (const auto& n : *nets) {
    if (n.name == kNet) return;
  }
  NetworkSpec spec;
  spec.name = kNet;
  spec.bridge_name = kBridge;
  spec.subnet_v4 = "10.91.0.0/24";
  spec.subnet_v6 = "fd91::/64";
  spec.icc = false;
  spec.labels = {{"com.ipo.test", "docker_client_itest"}};
  REQUIRE(client.CreateNetwork(spec).ok());
}

const Endpoint* FindEndpoint(const ContainerInfo& c, const std::string& network) {
  for (const auto& ep : c.endpoints) {
    if (ep.network == network) return &ep;
  }
  return nullptr;
}

// Collects events from StreamEvents on a thread until Stop().
class EventCollector {
 public:
  EventCollector(DockerClient& client, int64_t since_nano)
      : thread_([this, &client, since_nano] {
          Status s = client.StreamEvents(
              since_nano,
              [this](const Event& ev) {
                std::lock_guard lock(mu_);
                events_.push_back(ev);
                cv_.notify_all();
              },
              [this] {
                ++polls_;
                return stop_.load();
              });
          std::lock_guard lock(mu_);
          result_ = s;
          done_ = true;
          cv_.notify_all();
        }) {}
  ~EventCollector() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

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
std::vector<std::string> Story(const std::vector<Event>& events, const std::string& id) {
  std::vector<std::string> story;
  for (const auto& ev : events) {
    if (ev.type == "container" && ev.id == id) {
      story.push_back("container " + ev.action);
    } else if (ev.type == "network" && ev.attributes.count("container") &&
               ev.attributes.at("container") == id) {
      story.push_back("network " + ev.action + " " + ev.attributes.at("name"));
    }
  }
  return story;
}

// True when `want` occurs in `story` in this order (other entries may come between).
bool InOrder(const std::vector<std::string>& story, const std::vector<std::string>& want) {
  auto it = story.begin();
  for (const auto& w : want) {
    it = std::find(it, story.end(), w);
    if (it == story.end()) return false;
    ++it;
  }
  return true;
}

TEST_CASE("Create rejects hosts that are not unix sockets", "[docker][client]") {
  auto tcp = DockerClient::Create("tcp://127.0.0.1:2375", 1s);
  REQUIRE_FALSE(tcp.ok());
  CHECK(tcp.status().message() ==
        "Docker host 'tcp://127.0.0.1:2375': only unix:///path/to/docker.sock is supported");
}

TEST_CASE("Negotiate picks API 1.41", "[docker][client]") {
  auto client = DockerClient::Create(Env("IPO_DOCKER_HOST"), 10s);
  REQUIRE(client.ok());
  auto version = (*client)->Negotiate();
  REQUIRE(version.ok());
  CHECK(*version == "1.41");
  CHECK((*client)->api_version() == "1.41");
}

TEST_CASE("A missing socket is kUnavailable", "[docker][client]") {
  auto client = DockerClient::Create("unix:///nonexistent/docker.sock", 1s);
  REQUIRE(client.ok());
  auto version = (*client)->Negotiate();
  REQUIRE_FALSE(version.ok());
  CHECK(version.status().code() == Status::Code::kUnavailable);
  CHECK(version.status().message().rfind("GET /_ping: ", 0) == 0);
  CHECK(version.status().message().find("(socket /nonexistent/docker.sock)") != std::string::npos);
}

TEST_CASE("CreateNetwork with v4+v6 and a bridge name; ListNetworks shows it", "[docker][client]") {
  auto client = NewClient();
  EnsureNetwork(*client);
  auto nets = client->ListNetworks();
  REQUIRE(nets.ok());
  auto it = std::find_if(nets->begin(), nets->end(), [](const auto& n) { return n.name == kNet; });
  REQUIRE(it != nets->end());
  CHECK(it->driver == "bridge");
  CHECK(it->bridge_name == kBridge);
  CHECK(it->ipv6);
  CHECK(it->subnets == std::vector<std::string>{"10.91.0.0/24", "fd91::/64"});
  CHECK(if_nametoindex(kBridge) != 0);  // this test runs in dockerd's network namespace

  NetworkSpec again;
  again.name = kNet;
  again.subnet_v4 = "10.92.0.0/24";
  Status dup = client->CreateNetwork(again);
  CHECK(dup.code() == Status::Code::kInvalidArgument);
  CHECK(dup.message() ==
        "POST /v1.41/networks/create: HTTP 409: network with name ipo-dkt-net already exists");
}

TEST_CASE("InspectContainer and ListContainers show endpoints and ports", "[docker][client]") {
  auto client = NewClient();
  EnsureNetwork(*client);
  RemoveContainer("ipo-dkt-web");
  const std::string id =
      RunContainer("ipo-dkt-web", kNet,
                   {{"PortBindings", {{"80/tcp", {{{"HostIp", ""}, {"HostPort", "18080"}}}}}}});

  auto c = client->InspectContainer("ipo-dkt-web");
  REQUIRE(c.ok());
  CHECK(c->id == id);
  CHECK(c->name == "ipo-dkt-web");
  CHECK(c->running);
  CHECK(c->state == "running");
  CHECK(c->pid > 0);
  REQUIRE(c->endpoints.size() == 1);
  CHECK(c->endpoints[0].network == kNet);
  CHECK(c->endpoints[0].ipv4.rfind("10.91.0.", 0) == 0);
  CHECK(c->endpoints[0].ipv6.rfind("fd91::", 0) == 0);
  CHECK(c->ports == std::vector<PortBinding>{{"tcp", 80, "0.0.0.0", 18080}, {"tcp", 80, "::", 18080}});

  auto all = client->ListContainers();
  REQUIRE(all.ok());
  auto found = std::find_if(all->begin(), all->end(), [&](const auto& x) { return x.id == id; });
  REQUIRE(found != all->end());
  CHECK(*found == *c);

  auto missing = client->InspectContainer("ipo-dkt-nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(missing.status().message() ==
        "GET /v1.41/containers/ipo-dkt-nope/json: HTTP 404: No such container: ipo-dkt-nope");
  RemoveContainer("ipo-dkt-web");
}

TEST_CASE("ConnectNetwork and DisconnectNetwork change endpoints", "[docker][client]") {
  auto client = NewClient();
  EnsureNetwork(*client);
  RemoveContainer("ipo-dkt-cd");
  RunContainer("ipo-dkt-cd", kNet);

  REQUIRE(client->ConnectNetwork("bridge", "ipo-dkt-cd").ok());
  auto both = client->InspectContainer("ipo-dkt-cd");
  REQUIRE(both.ok());
  REQUIRE(both->endpoints.size() == 2);
  const Endpoint* bridge = FindEndpoint(*both, "bridge");
  REQUIRE(bridge != nullptr);
  CHECK(bridge->ipv4.rfind("172.17.", 0) == 0);
  CHECK_FALSE(bridge->network_id.empty());

  REQUIRE(client->DisconnectNetwork("bridge", "ipo-dkt-cd").ok());
  auto one = client->InspectContainer("ipo-dkt-cd");
  REQUIRE(one.ok());
  REQUIRE(one->endpoints.size() == 1);
  CHECK(one->endpoints[0].network == kNet);

  Status again = client->DisconnectNetwork("bridge", "ipo-dkt-cd");
  CHECK_FALSE(again.ok());
  CHECK(again.message().rfind("POST /v1.41/networks/bridge/disconnect: HTTP ", 0) == 0);
  Status no_net = client->ConnectNetwork("ipo-dkt-nonet", "ipo-dkt-cd");
  CHECK(no_net.code() == Status::Code::kNotFound);
  CHECK(no_net.message() ==
        "POST /v1.41/networks/ipo-dkt-nonet/connect: HTTP 404: network ipo-dkt-nonet not found");
  RemoveContainer("ipo-dkt-cd");
}

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
}  // namespace ipo::docker
