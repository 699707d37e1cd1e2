// What the daemon's tests share: the lab policy (rules/policy.json), a temporary state
// directory, the fakes a Reconciler runs on, and the usual start (docker_a synced once).
//
// Thread safety: not thread-safe (tests).
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

#include "daemon/reconciler.h"
#include "testing/fake_docker_api.h"
#include "testing/fake_nft_backend.h"

namespace ipo::daemon::testfix {

inline const bool kQuiet = [] {
  spdlog::set_level(spdlog::level::off);
  return true;
}();

inline policy::Policy LabPolicy() {
  auto p = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(p.ok());
  return *p;
}

inline std::string TempDir() {
  char tmpl[] = "/tmp/ipo-reconciler-test.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

// The elements of a set (or map) as text.
inline std::vector<std::string> Elements(const nft::Ruleset& rs, nft::Family f, const std::string& table,
                                         const std::string& set) {
  std::vector<std::string> out;
  for (const auto& e : rs.FindTable(f, table)->FindSet(set)->elements) out.push_back(nft::ElementToString(e));
  return out;
}

// A container only created (`docker create -p ...`, never started) with these -p bindings.
inline docker::ContainerInfo Created(const std::string& name, std::vector<docker::PortBinding> configured) {
  docker::ContainerInfo c;
  c.id = "id-" + name;
  c.name = name;
  c.state = "created";
  c.configured_ports = std::move(configured);
  return c;
}

struct Fixture {
  std::string dir = TempDir();
  testing::FakeDockerApi docker;
  testing::FakeNftBackend nft;
  state::StateStore store{dir};
  ~Fixture() { std::filesystem::remove_all(dir); }
};

// The usual start of a test: docker_a runs, a Reconciler (with `conntrack`, when given) has
// synced it once, and `before` is the ruleset that put in force.
struct Started : Fixture {
  std::unique_ptr<Reconciler> r;
  nft::Ruleset before;
  explicit Started(conntrack::Flusher* conntrack = nullptr) {
    docker.Run("docker_a");
    r = std::make_unique<Reconciler>(LabPolicy(), docker, nft, store, conntrack);
    REQUIRE(r->Sync("start").ok());
    before = nft.kernel;
  }
};

}  // namespace ipo::daemon::testfix
