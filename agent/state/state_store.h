// StateStore: what the agent last applied, kept on disk so that at boot the agent restores
// the same ruleset before Docker starts, and replays Docker events it missed.
//
// File format (docs/state-format.md): a version line "ipo-netd-state 1", then one JSON
// object: the agent's own members and, beside them, the observed ones written and read by
// model/observed_json.h (the same form the status document shows in "observed"). Saved crash-safely: written to "<file>.tmp", fsync'ed, renamed over the file,
// and the directory fsync'ed; a failed save removes the temp file and leaves the old file.
//
// Thread safety: not thread-safe; the daemon's reconcile loop owns it.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "model/observed.h"

namespace ipo::state {

struct AgentState {
  uint64_t generation = 0;     // +1 for every ruleset change applied to the kernel
  std::string policy_path;
  std::string applied_at;      // UTC, ISO 8601
  model::Observed observed;  // the containers the applied ruleset was compiled from
  int64_t last_event_nano = 0; // timeNano of the last Docker event handled (0: none)
  std::string last_event;      // "start docker_a", for humans
  bool operator==(const AgentState&) const;
};

inline constexpr const char* kStateHeader = "ipo-netd-state 1";

std::string Serialize(const AgentState& s);
// `source` names the text in messages.
Result<AgentState> Deserialize(const std::string& text, const std::string& source);

class StateStore {
 public:
  // REQUIRES: dir exists or can be created.
  explicit StateStore(std::string dir);
  const std::string& path() const { return path_; }
  // NotFound when there is no state file yet.
  Result<AgentState> Load() const;
  Status Save(const AgentState& s) const;

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace ipo::state
