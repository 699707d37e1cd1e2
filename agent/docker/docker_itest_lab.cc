#include "docker/docker_itest_lab.h"

#include <curl/curl.h>

#include <cstdlib>

namespace ipo::docker::itest {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

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

long LabCall(const std::string& method, const std::string& path, const std::string& body, std::string* out) {
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

std::string RunContainer(const std::string& name, const std::string& network, const nlohmann::json& extra_host_config) {
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

EventCollector::EventCollector(DockerClient& client, int64_t since_nano)
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

EventCollector::~EventCollector() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

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

bool InOrder(const std::vector<std::string>& story, const std::vector<std::string>& want) {
  auto it = story.begin();
  for (const auto& w : want) {
    it = std::find(it, story.end(), w);
    if (it == story.end()) return false;
    ++it;
  }
  return true;
}

}  // namespace ipo::docker::itest
