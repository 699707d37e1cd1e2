#include "state/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/json_limits.h"
#include "common/unique_fd.h"

namespace ipo::state {
namespace {

using nlohmann::json;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Internal(Errno("write " + path));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

bool AgentState::operator==(const AgentState& o) const {
  return Serialize(*this) == Serialize(o);
}

std::string Serialize(const AgentState& s) {
  json containers = json::array();
  for (const auto& c : s.observed.containers) {
    containers.push_back({{"name", c.name}, {"id", c.id}, {"running", c.running}, {"ipv4", c.ipv4}, {"ipv6", c.ipv6}});
  }
  json ports = json::array();
  for (const auto& p : s.observed.proxy_ports) ports.push_back({{"proto", p.proto}, {"port", p.port}});
  json published = json::array();
  for (const auto& d : s.observed.docker_published) {
    published.push_back({{"container", d.container}, {"proto", d.proto}, {"host_ip", d.host_ip},
                         {"host_port", d.host_port}, {"v6", d.v6}, {"target", d.target}, {"port", d.port}});
  }
  json j = {{"generation", s.generation},
            {"policy", s.policy_path},
            {"applied_at", s.applied_at},
            {"containers", containers},
            {"proxy_ports", ports},
            {"docker_published", published},
            {"bridges", s.observed.bridges},
            {"default_bridge_v4", s.observed.default_bridge_v4},
            {"last_event_nano", s.last_event_nano},
            {"last_event", s.last_event}};
  return std::string(kStateHeader) + "\n" + j.dump(2) + "\n";
}

Result<AgentState> Deserialize(const std::string& text, const std::string& source) {
  size_t nl = text.find('\n');
  std::string header = text.substr(0, nl);
  if (header != kStateHeader) {
    return Status::InvalidArgument(source + ":1: expected \"" + kStateHeader + "\", found \"" + header + "\"");
  }
  // Bounded like every document the agent reads (common/json_limits.h): 1,000 containers
  // take ~200 KB; a corrupt or hostile file is refused in linear time, never parsed deep.
  IPO_RETURN_IF_ERROR(CheckJsonLimits(text, source, JsonLimits{/*max_bytes=*/64 << 20, /*max_depth=*/16,
                                                               /*max_string=*/4096}));
  try {
    json j = json::parse(text.substr(nl == std::string::npos ? text.size() : nl + 1));
    AgentState s;
    s.generation = j.at("generation").get<uint64_t>();
    s.policy_path = j.at("policy").get<std::string>();
    s.applied_at = j.at("applied_at").get<std::string>();
    for (const auto& c : j.at("containers")) {
      s.observed.containers.push_back({c.at("name").get<std::string>(), c.at("id").get<std::string>(),
                                       c.at("running").get<bool>(), c.at("ipv4").get<std::string>(),
                                       c.at("ipv6").get<std::string>()});
    }
    for (const auto& p : j.at("proxy_ports")) {
      s.observed.proxy_ports.push_back({p.at("proto").get<uint8_t>(), p.at("port").get<uint16_t>()});
    }
    // Absent in files written before the agent published -p bindings itself.
    for (const auto& d : j.value("docker_published", json::array())) {
      s.observed.docker_published.push_back(
          {d.at("proto").get<uint8_t>(), d.at("host_port").get<uint16_t>(), d.at("v6").get<bool>(),
           d.at("host_ip").get<std::string>(), d.at("target").get<std::string>(), d.at("port").get<uint16_t>(),
           d.at("container").get<std::string>()});
    }
    // Written since issue 12; absent in older files (then only the patterns guard).
    s.observed.bridges = j.value("bridges", std::vector<std::string>{});
    s.observed.default_bridge_v4 = j.value("default_bridge_v4", std::string{});
    s.last_event_nano = j.at("last_event_nano").get<int64_t>();
    s.last_event = j.at("last_event").get<std::string>();
    return s;
  } catch (const json::exception& e) {
    return Status::InvalidArgument(source + ": corrupt state: " + e.what());
  }
}

StateStore::StateStore(std::string dir) : dir_(std::move(dir)), path_(dir_ + "/state.json") {}

Result<AgentState> StateStore::Load() const {
  std::ifstream in(path_);
  if (!in) return Status::NotFound(path_ + ": no saved state");
  std::stringstream buf;
  buf << in.rdbuf();
  return Deserialize(buf.str(), path_);
}

Status StateStore::Save(const AgentState& s) const {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return Status::Internal(Errno("mkdir " + dir_));
  std::string tmp = path_ + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::Internal(Errno("open " + tmp));
  Status st = WriteAll(fd.get(), Serialize(s), tmp);
  if (st.ok() && ::fsync(fd.get()) != 0) st = Status::Internal(Errno("fsync " + tmp));
  if (st.ok() && ::close(fd.release()) != 0) st = Status::Internal(Errno("close " + tmp));
  if (st.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) st = Status::Internal(Errno("rename " + tmp));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  UniqueFd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return Status::Ok();
}

}  // namespace ipo::state
