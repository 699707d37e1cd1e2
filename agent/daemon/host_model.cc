#include "daemon/host_model.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace ipo::daemon {
namespace {

std::string Short(const std::string& id) { return id.substr(0, 12); }

std::string Describe(const docker::ContainerInfo& c) { return "container " + c.name + " (" + Short(c.id) + ")"; }

// The subjects of a batch, in the order of their first event: the container id and whether
// its last event removed it.
struct Subjects {
  std::vector<std::string> order;
  std::map<std::string, bool> destroyed;
  bool networks = false;
};

Result<Subjects> SubjectsOf(const std::vector<docker::Event>& events) {
  Subjects s;
  auto note = [&](const std::string& id, bool destroyed) {
    auto [it, fresh] = s.destroyed.emplace(id, destroyed);
    if (fresh) s.order.push_back(id);
    else it->second = destroyed;
  };
  for (const docker::Event& e : events) {
    if (e.type == "container") {
      if (e.id.empty()) return Status::InvalidArgument("container event " + e.action + " names no container");
      note(e.id, e.action == "destroy");
    } else if (e.type == "network") {
      if (e.action == "connect" || e.action == "disconnect") {
        auto c = e.attributes.find("container");
        if (c == e.attributes.end() || c->second.empty())
          return Status::InvalidArgument("network event " + e.action + " names no container");
        note(c->second, false);
      } else {
        s.networks = true;  // create, destroy, remove, ...: the list of networks changed
      }
    }
  }
  return s;
}

}  // namespace

Result<ModelChanges> HostModel::Resync(docker::DockerApi& docker) {
  primed_ = false;
  auto networks = docker.ListNetworks();
  if (!networks.ok()) return networks.status();
  auto containers = docker.ListContainers();
  if (!containers.ok()) return containers.status();
  ModelChanges changes;
  changes.lookups = 1 + containers->size() + 1;
  std::set<std::string> known;
  for (const docker::ContainerInfo& c : containers_) known.insert(c.id);
  for (const docker::ContainerInfo& c : *containers)
    if (!known.count(c.id)) changes.added.push_back(c.name);
  changes.corrected = ModelDifferences(containers_, *containers, networks_, *networks);
  containers_ = std::move(*containers);
  networks_ = std::move(*networks);
  primed_ = true;
  return changes;
}

Result<ModelChanges> HostModel::Update(docker::DockerApi& docker, const std::vector<docker::Event>& events) {
  if (!primed_) return Status::Unavailable("the model of the host needs a full list first");
  auto subjects = SubjectsOf(events);
  if (!subjects.ok()) {
    primed_ = false;
    return subjects.status();
  }
  ModelChanges changes;
  if (subjects->networks) {
    auto networks = docker.ListNetworks();
    ++changes.lookups;
    if (!networks.ok()) {
      primed_ = false;
      return networks.status();
    }
    networks_ = std::move(*networks);
  }
  for (const std::string& id : subjects->order) {
    if (subjects->destroyed.at(id)) {
      Remove(id);
      continue;
    }
    Status st = LookUp(docker, id, changes);
    if (!st.ok()) {
      primed_ = false;
      return st;
    }
  }
  return changes;
}

Result<ModelChanges> HostModel::Refresh(docker::DockerApi& docker, const std::vector<std::string>& container_names,
                                        bool networks) {
  if (!primed_) return Status::Unavailable("the model of the host needs a full list first");
  ModelChanges changes;
  if (networks) {
    auto list = docker.ListNetworks();
    ++changes.lookups;
    if (!list.ok()) {
      primed_ = false;
      return list.status();
    }
    networks_ = std::move(*list);
  }
  std::set<std::string> done;
  for (const std::string& name : container_names) {
    if (!done.insert(name).second) continue;
    Status st = LookUp(docker, name, changes);
    if (!st.ok()) {
      primed_ = false;
      return st;
    }
  }
  return changes;
}

Status HostModel::LookUp(docker::DockerApi& docker, const std::string& id_or_name, ModelChanges& changes) {
  auto info = docker.InspectContainer(id_or_name);
  ++changes.lookups;
  if (!info.ok() && info.status().code() == Status::Code::kNotFound) {
    Remove(id_or_name);
    return Status::Ok();
  }
  if (!info.ok()) return info.status();
  std::vector<std::string> stale = Claimants(*info);
  Put(std::move(*info), changes);
  // One more look-up each, not recursive: a claimant found stale frees the address; one
  // found still holding it is what Docker says (both then show in the model, as in a list).
  for (const std::string& id : stale) {
    auto other = docker.InspectContainer(id);
    ++changes.lookups;
    if (!other.ok() && other.status().code() == Status::Code::kNotFound) {
      Remove(id);
      continue;
    }
    if (!other.ok()) return other.status();
    Put(std::move(*other), changes);
  }
  return Status::Ok();
}

void HostModel::Put(docker::ContainerInfo c, ModelChanges& changes) {
  auto it = std::find_if(containers_.begin(), containers_.end(), [&](const auto& k) { return k.id == c.id; });
  if (it != containers_.end()) {
    *it = std::move(c);
    return;
  }
  changes.added.push_back(c.name);
  containers_.push_back(std::move(c));
}

void HostModel::Remove(const std::string& id_or_name) {
  std::erase_if(containers_, [&](const auto& k) { return k.id == id_or_name || k.name == id_or_name; });
}

std::vector<std::string> HostModel::Claimants(const docker::ContainerInfo& c) const {
  std::vector<std::string> out;
  for (const docker::ContainerInfo& other : containers_) {
    if (other.id == c.id) continue;
    bool claims = std::any_of(other.endpoints.begin(), other.endpoints.end(), [&](const docker::Endpoint& o) {
      return std::any_of(c.endpoints.begin(), c.endpoints.end(), [&](const docker::Endpoint& e) {
        return e.network_id == o.network_id &&
               ((!e.ipv4.empty() && e.ipv4 == o.ipv4) || (!e.ipv6.empty() && e.ipv6 == o.ipv6));
      });
    });
    if (claims) out.push_back(other.id);
  }
  return out;
}

std::vector<std::string> ModelDifferences(const std::vector<docker::ContainerInfo>& before,
                                          const std::vector<docker::ContainerInfo>& after,
                                          const std::vector<docker::NetworkInfo>& nets_before,
                                          const std::vector<docker::NetworkInfo>& nets_after, size_t limit) {
  std::vector<std::string> out;
  size_t more = 0;
  auto add = [&](std::string line) {
    if (out.size() < limit) out.push_back(std::move(line));
    else ++more;
  };
  std::unordered_map<std::string, const docker::ContainerInfo*> old;
  for (const docker::ContainerInfo& c : before) old.emplace(c.id, &c);
  for (const docker::ContainerInfo& c : after) {
    auto it = old.find(c.id);
    if (it == old.end()) add(Describe(c) + ": missing from the model");
    else if (!(*it->second == c)) add(Describe(c) + ": changed");
    if (it != old.end()) old.erase(it);
  }
  for (const docker::ContainerInfo& c : before)
    if (old.count(c.id)) add(Describe(c) + ": gone from Docker, still in the model");
  std::map<std::string, const docker::NetworkInfo*> nets;
  for (const docker::NetworkInfo& n : nets_before) nets.emplace(n.id, &n);
  for (const docker::NetworkInfo& n : nets_after) {
    auto it = nets.find(n.id);
    if (it == nets.end()) add("network " + n.name + " (" + Short(n.id) + "): missing from the model");
    else if (!(*it->second == n)) add("network " + n.name + " (" + Short(n.id) + "): changed");
    if (it != nets.end()) nets.erase(it);
  }
  for (const auto& [id, n] : nets) add("network " + n->name + " (" + Short(id) + "): gone from Docker, still in the model");
  if (more) out.push_back("... and " + std::to_string(more) + " more");
  return out;
}

}  // namespace ipo::daemon
