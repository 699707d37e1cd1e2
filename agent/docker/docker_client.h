// DockerClient: DockerApi over the Docker Engine's unix socket with libcurl. JSON is
// decoded by object_codec.h / event_decoder.h; this file owns only the HTTP exchange.
//
// Requests (Negotiate, List*, Inspect*, *Network) share one CURL handle and a mutex, so
// they run one at a time and reuse the connection; each is bounded by the request timeout.
// StreamEvents has its own handle and mutex, so one thread may stream events while another
// makes requests. Calling StreamEvents from two threads at once serialises them.
//
// Errors: a socket that cannot be reached, a timeout or a stream the server ends is
// kUnavailable; HTTP 404 kNotFound; 400/409 kInvalidArgument; 401/403 kPermission; other
// HTTP errors kInternal. Messages read "<METHOD> <path>: HTTP <code>: <Docker's message>"
// or "<METHOD> <path>: <curl error> (socket <path>)".
//
// Thread safety: thread-safe (see above).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "docker/docker_api.h"

namespace ipo::docker {

class DockerClient final : public DockerApi {
 public:
  // `host` is "unix:///path/to/docker.sock" (DOCKER_HOST syntax; only unix sockets).
  // InvalidArgument for any other scheme or an empty path.
  // REQUIRES: request_timeout > 0.
  static Result<std::unique_ptr<DockerClient>> Create(const std::string& host,
                                                      std::chrono::milliseconds request_timeout);
  // REQUIRES: no call (in particular StreamEvents on another thread) is running.
  ~DockerClient() override;
  DockerClient(const DockerClient&) = delete;
  DockerClient& operator=(const DockerClient&) = delete;

  // Until Negotiate succeeds, requests use the /v1.41 prefix.
  Result<std::string> Negotiate() override;
  // GET /containers/json?all=1, then each container inspected; a container removed in
  // between is left out.
  Result<std::vector<ContainerInfo>> ListContainers() override;
  Result<ContainerInfo> InspectContainer(const std::string& id_or_name) override;
  Result<std::vector<NetworkInfo>> ListNetworks() override;
  Status CreateNetwork(const NetworkSpec& spec) override;
  Status ConnectNetwork(const std::string& network, const std::string& container) override;
  Status DisconnectNetwork(const std::string& network, const std::string& container) override;
  // should_stop is polled every 100 ms and after each chunk received, so the call returns
  // within ~100 ms of it turning true, even on an idle stream (libcurl's multi interface
  // with curl_multi_poll; an XFERINFOFUNCTION under curl_easy_perform is called only about
  // every 200 ms on an idle transfer). on_event and should_stop run
  // on the calling thread, never inside libcurl. Any end of the stream that should_stop did
  // not ask for is an error: kUnavailable when the server closed it or cannot be reached,
  // kInvalidArgument when a message cannot be decoded. The connect timeout is the request
  // timeout; an established stream has no time limit.
  Status StreamEvents(int64_t since_nano, const std::function<void(const Event&)>& on_event,
                      const std::function<bool()>& should_stop) override;

  // The negotiated API version ("1.41" before Negotiate).
  std::string api_version() const;

 private:
  struct Handles;  // the CURL handles, behind a pointer to keep curl.h out of this header
  struct Response {
    long code = 0;
    std::string body;
  };

  DockerClient(std::string socket_path, std::chrono::milliseconds request_timeout);
  // One request on the request handle. `path` excludes the version prefix unless
  // `unversioned`; body != nullptr makes it carry JSON. HTTP errors are returned as Status.
  Result<Response> Request(const char* method, const std::string& path, const std::string* body,
                           bool unversioned = false);
  std::string VersionPrefix() const;

  const std::string socket_path_;
  const std::chrono::milliseconds request_timeout_;
  std::unique_ptr<Handles> handles_;
  std::mutex request_mu_;  // guards handles_->request
  std::mutex events_mu_;   // guards handles_->events and handles_->multi
  mutable std::mutex version_mu_;
  std::string api_version_;  // guarded by version_mu_
};

}  // namespace ipo::docker
