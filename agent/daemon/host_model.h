// HostModel: the agent's copy of what Docker has (every container, inspected, and every
// network), kept current by look-ups of what each event names instead of a re-list of the
// host per event. One event costs one look-up whatever the number of containers; a storm
// costs one look-up per distinct subject of each coalesced batch.
//
//   Resync   the full list: GET /networks, GET /containers/json and one inspect per
//            container. At start, on every (re)connect of the event stream, periodically,
//            and whenever an update is in doubt (a failed look-up). Reports what it
//            corrected: how the list differs from the model it replaces (nothing, when
//            the events kept the model current; everything, the first time).
//   Update   for a batch of Docker events, in order: the container an event names
//            (Actor.ID; Attributes.container for a network connect/disconnect) is inspected
//            once per batch, after its last event (gone, or its last event "destroy":
//            removed from the model); a network created or removed re-reads the networks (a
//            handful). A container whose address on a network another container of the
//            model still holds is looked up too, so a stale entry never keeps an address
//            Docker has handed to someone else.
//   Refresh  the containers (by name) and, when asked, the networks a placement just
//            changed.
// A failed Update or Refresh leaves the model unprimed: the next call must be a Resync.
//
// Order: containers stay in the order of the last full list; new ones are appended.
//
// Thread safety: not thread-safe (the reconcile thread owns it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "docker/docker_api.h"

namespace ipo::daemon {

// What a Resync, Update or Refresh changed in the model.
struct ModelChanges {
  std::vector<std::string> added;      // names of containers new to the model
  std::vector<std::string> corrected;  // Resync: "container web (3f2a9c1b0d4e): changed", ...
  uint64_t lookups = 0;                // inspects (and network lists) it cost
};

class HostModel {
 public:
  Result<ModelChanges> Resync(docker::DockerApi& docker);
  Result<ModelChanges> Update(docker::DockerApi& docker, const std::vector<docker::Event>& events);
  Result<ModelChanges> Refresh(docker::DockerApi& docker, const std::vector<std::string>& container_names,
                               bool networks);

  // Whether the model holds a full list that no failed update has put in doubt since.
  bool primed() const { return primed_; }
  const std::vector<docker::ContainerInfo>& containers() const { return containers_; }
  const std::vector<docker::NetworkInfo>& networks() const { return networks_; }

 private:
  // Inspects `id_or_name` and puts the answer in the model (NotFound: removes `id_or_name`).
  Status LookUp(docker::DockerApi& docker, const std::string& id_or_name, ModelChanges& changes);
  // Puts `c` in the model in place of the entry with its id; appended when new.
  void Put(docker::ContainerInfo c, ModelChanges& changes);
  void Remove(const std::string& id_or_name);
  // Containers of the model other than `c` that claim one of c's addresses on the same network.
  std::vector<std::string> Claimants(const docker::ContainerInfo& c) const;

  bool primed_ = false;
  std::vector<docker::ContainerInfo> containers_;
  std::vector<docker::NetworkInfo> networks_;
};

// How `after` differs from `before`, one line per container or network (by id), at most
// `limit` lines and then "... and N more".
std::vector<std::string> ModelDifferences(const std::vector<docker::ContainerInfo>& before,
                                          const std::vector<docker::ContainerInfo>& after,
                                          const std::vector<docker::NetworkInfo>& nets_before,
                                          const std::vector<docker::NetworkInfo>& nets_after, size_t limit = 20);

}  // namespace ipo::daemon
