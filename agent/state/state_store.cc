#include "state/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/json_reader.h"
#include "common/unique_fd.h"
#include "model/observed_json.h"

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
  // The observed members stand at the top level, beside the agent's own (docs/state-format.md).
  json j = model::ObservedToJson(s.observed);
  j["generation"] = s.generation;
  j["policy"] = s.policy_path;
  j["applied_at"] = s.applied_at;
  j["last_event_nano"] = s.last_event_nano;
  j["last_event"] = s.last_event;
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
  // Unknown members are ignored, so an older agent reads a newer agent's file; null ones
  // count as absent. The version line is blanked rather than cut, so that messages give the
  // file's own line numbers.
  JsonReadOptions options;
  options.limits = JsonLimits{/*max_bytes=*/64 << 20, /*max_depth=*/16, /*max_string=*/4096};
  options.null_is_absent = true;
  std::string body = text;
  body.replace(0, header.size(), header.size(), ' ');
  auto state = ReadJsonAs<AgentState>(body, source, options, [](const JsonValue& j) {
    AgentState s;
    s.observed = model::ReadObserved(j);
    s.generation = j.Get("generation").Uint(UINT64_MAX);
    s.policy_path = j.Get("policy").String();
    s.applied_at = j.Get("applied_at").String();
    s.last_event_nano = j.Get("last_event_nano").Int();
    s.last_event = j.Get("last_event").String();
    return s;
  });
  if (!state.ok()) return Status::InvalidArgument("corrupt state: " + state.status().message());
  return state;
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
