#include "docker/docker_client.h"

#include <curl/curl.h>

#include <utility>

#include <nlohmann/json.hpp>

#include "docker/event_decoder.h"
#include "docker/object_codec.h"

namespace ipo::docker {
namespace {

constexpr char kUnixScheme[] = "unix://";
// How long StreamEvents waits for data before polling should_stop again.
constexpr int kStreamPollMs = 100;
// Bytes of an HTTP error body kept for the message.
constexpr size_t kMaxErrorBody = 4096;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

size_t AppendToString(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Percent-encodes everything but RFC 3986 unreserved characters, for one path segment.
std::string EscapeSegment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    const bool unreserved = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
                            ch == '~';
    if (unreserved) {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

Status HttpError(const std::string& what, long code, std::string_view body) {
  std::string msg = what + ": HTTP " + std::to_string(code) + ": " + DecodeErrorMessage(body);
  switch (code) {
    case 404: return Status::NotFound(std::move(msg));
    case 400:
    case 409: return Status::InvalidArgument(std::move(msg));
    case 401:
    case 403: return Status::Permission(std::move(msg));
    default: return Status::Internal(std::move(msg));
  }
}

template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.ok() ? Status::Ok() : r.status();
}

std::string CurlError(CURLcode rc, const char* errbuf) {
  return errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
}

// What the event stream's write callback shares with StreamEvents.
struct StreamState {
  CURL* handle = nullptr;
  long code = 0;
  EventStreamSplitter splitter;
  std::vector<std::string> messages;  // complete, not yet delivered
  Status split_status;
  std::string error_body;  // the body of a non-2xx answer
};

size_t OnStreamData(char* data, size_t size, size_t count, void* user) {
  auto* s = static_cast<StreamState*>(user);
  const size_t n = size * count;
  if (s->code == 0) curl_easy_getinfo(s->handle, CURLINFO_RESPONSE_CODE, &s->code);
  if (s->code < 200 || s->code >= 300) {
    if (s->error_body.size() < kMaxErrorBody) s->error_body.append(data, n);
    return n;
  }
  s->split_status = s->splitter.Feed(std::string_view(data, n), &s->messages);
  return s->split_status.ok() ? n : 0;  // 0 aborts the transfer
}

// The options a request and the event stream share: `url` over the unix socket `socket`,
// no signals, libcurl's error text in `errbuf`, the body to write(data).
void SetTransfer(CURL* h, const std::string& socket, const std::string& url, char* errbuf,
                 curl_write_callback write, void* data) {
  curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, data);
}

}  // namespace

struct DockerClient::Handles {
  EasyHandle request;
  EasyHandle events;
  MultiHandle multi;  // drives `events` so StreamEvents can poll should_stop
};

Result<std::unique_ptr<DockerClient>> DockerClient::Create(
    const std::string& host, std::chrono::milliseconds request_timeout) {
  const std::string_view scheme = kUnixScheme;
  if (host.compare(0, scheme.size(), scheme) != 0 || host.size() == scheme.size()) {
    return Status::InvalidArgument("Docker host '" + host +
                                   "': only unix:///path/to/docker.sock is supported");
  }
  GlobalInitOnce();
  std::unique_ptr<DockerClient> client(
      new DockerClient(host.substr(scheme.size()), request_timeout));
  auto& h = *client->handles_;
  h.request.reset(curl_easy_init());
  h.events.reset(curl_easy_init());
  h.multi.reset(curl_multi_init());
  if (!h.request || !h.events || !h.multi) return Status::Internal("libcurl: cannot create a handle");
  return client;
}

DockerClient::DockerClient(std::string socket_path, std::chrono::milliseconds request_timeout)
    : socket_path_(std::move(socket_path)),
      request_timeout_(request_timeout),
      handles_(std::make_unique<Handles>()),
      api_version_(kMaxApiVersion) {}

DockerClient::~DockerClient() = default;

std::string DockerClient::api_version() const {
  std::lock_guard lock(version_mu_);
  return api_version_;
}

std::string DockerClient::VersionPrefix() const { return "/v" + api_version(); }

Result<DockerClient::Response> DockerClient::Request(const char* method, const std::string& path,
                                                     const std::string* body, bool unversioned) {
  const std::string full_path = unversioned ? path : VersionPrefix() + path;
  const std::string what = std::string(method) + " " + full_path;
  const std::string url = "http://docker" + full_path;

  std::lock_guard lock(request_mu_);
  CURL* h = handles_->request.get();
  curl_easy_reset(h);  // keeps the open connection
  Response resp;
  char errbuf[CURL_ERROR_SIZE] = {};
  HeaderList headers;
  SetTransfer(h, socket_path_, url, errbuf, &AppendToString, &resp.body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request_timeout_.count()));
  if (body != nullptr) {
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    return Status::Unavailable(what + ": " + CurlError(rc, errbuf) + " (socket " + socket_path_ +
                               ")");
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.code);
  if (resp.code < 200 || resp.code >= 300) return HttpError(what, resp.code, resp.body);
  return resp;
}

Result<std::string> DockerClient::Negotiate() {
  auto ping = Request("GET", "/_ping", nullptr, /*unversioned=*/true);
  if (!ping.ok()) return ping.status();
  auto version = Request("GET", "/version", nullptr, /*unversioned=*/true);
  if (!version.ok()) return version.status();
  auto server = DecodeApiVersion(version->body);
  if (!server.ok()) return server.status();
  std::string chosen =
      CompareApiVersions(*server, kMaxApiVersion) < 0 ? *server : std::string(kMaxApiVersion);
  std::lock_guard lock(version_mu_);
  api_version_ = chosen;
  return chosen;
}

Result<std::vector<ContainerInfo>> DockerClient::ListContainers() {
  auto list = Request("GET", "/containers/json?all=1", nullptr);
  if (!list.ok()) return list.status();
  auto ids = DecodeContainerIds(list->body);
  if (!ids.ok()) return ids.status();
  std::vector<ContainerInfo> containers;
  for (const std::string& id : *ids) {
    auto info = InspectContainer(id);
    if (!info.ok() && info.status().code() == Status::Code::kNotFound) continue;  // removed
    if (!info.ok()) return info.status();
    containers.push_back(std::move(info).value());
  }
  return containers;
}

Result<ContainerInfo> DockerClient::InspectContainer(const std::string& id_or_name) {
  auto resp = Request("GET", "/containers/" + EscapeSegment(id_or_name) + "/json", nullptr);
  if (!resp.ok()) return resp.status();
  return DecodeContainer(resp->body);
}

Result<std::vector<NetworkInfo>> DockerClient::ListNetworks() {
  auto resp = Request("GET", "/networks", nullptr);
  if (!resp.ok()) return resp.status();
  return DecodeNetworks(resp->body);
}

Status DockerClient::CreateNetwork(const NetworkSpec& spec) {
  auto body = EncodeNetworkCreate(spec);
  if (!body.ok()) return body.status();
  return StatusOf(Request("POST", "/networks/create", &*body));
}

Status DockerClient::ConnectNetwork(const std::string& network, const std::string& container) {
  const std::string body = nlohmann::json{{"Container", container}}.dump();
  return StatusOf(Request("POST", "/networks/" + EscapeSegment(network) + "/connect", &body));
}

Status DockerClient::DisconnectNetwork(const std::string& network, const std::string& container) {
  const std::string body = nlohmann::json{{"Container", container}, {"Force", false}}.dump();
  return StatusOf(Request("POST", "/networks/" + EscapeSegment(network) + "/disconnect", &body));
}

Status DockerClient::StreamEvents(int64_t since_nano,
                                  const std::function<void(const Event&)>& on_event,
                                  const std::function<bool()>& should_stop) {
  const std::string full_path = VersionPrefix() + EventsPath(since_nano);
  const std::string what = "GET " + full_path;
  const std::string url = "http://docker" + full_path;

  std::lock_guard lock(events_mu_);
  CURL* h = handles_->events.get();
  CURLM* multi = handles_->multi.get();
  curl_easy_reset(h);
  StreamState state;
  state.handle = h;
  char errbuf[CURL_ERROR_SIZE] = {};
  SetTransfer(h, socket_path_, url, errbuf, &OnStreamData, &state);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request_timeout_.count()));

  if (curl_multi_add_handle(multi, h) != CURLM_OK) {
    return Status::Internal(what + ": libcurl cannot add the stream handle");
  }
  struct Detach {
    CURLM* multi;
    CURL* h;
    ~Detach() { curl_multi_remove_handle(multi, h); }
  } detach{multi, h};

  int running = 1;
  while (true) {
    if (should_stop()) return Status::Ok();
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) return Status::Internal(what + ": " + curl_multi_strerror(mc));
    for (const std::string& message : state.messages) {
      auto event = DecodeEvent(message);
      if (!event.ok()) return event.status().WithContext(what);
      on_event(*event);
    }
    state.messages.clear();
    if (running == 0) break;
    mc = curl_multi_poll(multi, nullptr, 0, kStreamPollMs, nullptr);
    if (mc != CURLM_OK) return Status::Internal(what + ": " + curl_multi_strerror(mc));
  }

  CURLcode result = CURLE_OK;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) result = msg->data.result;
  }
  if (!state.split_status.ok()) return state.split_status.WithContext(what);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (code != 0 && (code < 200 || code >= 300)) return HttpError(what, code, state.error_body);
  if (result != CURLE_OK) {
    return Status::Unavailable(what + ": " + CurlError(result, errbuf) + " (socket " +
                               socket_path_ + ")");
  }
  return Status::Unavailable(what + ": the server ended the event stream");
}

}  // namespace ipo::docker
