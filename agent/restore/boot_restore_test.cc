#include "restore/boot_restore.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "compile/baseline.h"
#include "compile/compiler.h"
#include "testing/fake_nft_backend.h"

using namespace ipo;

namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/ipo-restore-test.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

state::AgentState SavedState() {
  state::AgentState s;
  s.generation = 41;
  s.observed.containers = {{"docker_a", "a", true, "172.30.1.2", "fd00:ac1e:1::2"}};
  return s;
}

std::string Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("restore: a valid policy and state give the saved containers' ruleset") {
  auto policy = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(policy.ok());
  restore::Decision d = restore::DecideRestore(policy, SavedState(), "/s/state.json");
  CHECK(d.outcome == restore::Outcome::kRestored);
  CHECK(d.generation == 41);
  CHECK(d.detail == "generation 41 from /s/state.json (1 containers)");
  CHECK(d.ruleset.ToString() == compile::Compile(*policy, SavedState().observed).ToString());
  CHECK(d.ruleset.ToString().find("172.30.1.2 . 8080") != std::string::npos);
}

TEST_CASE("restore: no state gives the static rules, an unreadable one too, with its reason") {
  auto policy = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(policy.ok());
  restore::Decision none = restore::DecideRestore(policy, Status::NotFound("x"), "/s/state.json");
  CHECK(none.outcome == restore::Outcome::kStatic);
  CHECK(none.detail == "no saved state in /s/state.json: the policy's static rules, no port published");
  CHECK(none.ruleset.ToString() == compile::Compile(*policy, {}).ToString());

  restore::Decision bad = restore::DecideRestore(policy, Status::InvalidArgument("/s/state.json:1: bad header"), "/s/state.json");
  CHECK(bad.outcome == restore::Outcome::kStatic);
  CHECK(bad.detail == "state unusable (/s/state.json:1: bad header): the policy's static rules, no port published");
}

TEST_CASE("restore: an unusable policy gives the fail-closed baseline whatever the state") {
  Result<policy::Policy> broken = Status::InvalidArgument("/etc/ipo-netd/policy.json:3: lan: missing");
  restore::Decision d = restore::DecideRestore(broken, SavedState(), "/s/state.json");
  CHECK(d.outcome == restore::Outcome::kFailClosed);
  CHECK(d.generation == 41);
  CHECK(d.detail.find("/etc/ipo-netd/policy.json:3: lan: missing") != std::string::npos);
  CHECK(d.ruleset.ToString() == compile::FailClosedBaseline().ToString());
  const std::string text = d.ruleset.ToString();
  CHECK(text.find("type filter hook forward priority 0; policy drop;") != std::string::npos);
}

TEST_CASE("restore: Docker's -p ports are guarded on input in every outcome, before Docker starts") {
  auto policy = policy::LoadPolicy(IPO_POLICY_FILE);
  REQUIRE(policy.ok());
  const std::vector<model::ProxyPort> docker_ports = {{6, 3316}, {6, 9999}};
  auto guarded = [](const nft::Ruleset& rs) {
    const nft::Set* s = rs.FindTable(nft::Family::kInet, compile::kFilterTable)->FindSet("proxy-ports");
    std::vector<std::string> out;
    if (s)
      for (const auto& e : s->elements) out.push_back(nft::ElementToString(e));
    return out;
  };
  const std::vector<std::string> want = {"tcp . 3316", "tcp . 9999"};
  restore::Decision r = restore::DecideRestore(policy, SavedState(), "/s/state.json", docker_ports);
  CHECK(r.outcome == restore::Outcome::kRestored);
  CHECK(guarded(r.ruleset) == want);
  CHECK(r.detail == "generation 41 from /s/state.json (1 containers); 2 docker-proxy port(s) from Docker's "
                    "containers guarded");
  restore::Decision st = restore::DecideRestore(policy, Status::NotFound("x"), "/s/state.json", docker_ports);
  CHECK(st.outcome == restore::Outcome::kStatic);
  CHECK(guarded(st.ruleset) == want);
  Result<policy::Policy> broken = Status::InvalidArgument("p.json:1: a string longer than 4096 bytes");
  restore::Decision fc = restore::DecideRestore(broken, SavedState(), "/s/state.json", docker_ports);
  CHECK(fc.outcome == restore::Outcome::kFailClosed);
  CHECK(guarded(fc.ruleset) == want);
  const std::string text = fc.ruleset.ToString();
  CHECK(text.find("type filter hook input priority 0; policy accept;") != std::string::npos);
  CHECK(text.find("meta l4proto . th dport @proxy-ports counter jump to-proxy") != std::string::npos);
  CHECK(text.find("iifname \"lo\" counter accept") != std::string::npos);
  CHECK(text.find("counter drop comment \"fail-closed: docker-proxy ports are closed until the policy is fixed") !=
        std::string::npos);
  // No Docker ports: the baseline has no input chain at all (the host's own ports untouched).
  CHECK(compile::FailClosedBaseline().ToString().find("hook input") == std::string::npos);
}

TEST_CASE("restore: DockerPorts reads the -p host ports of every container under the data root") {
  std::string dir = TempDir();
  std::filesystem::create_directories(dir + "/containers/abc");
  Write(dir + "/containers/abc/hostconfig.json",
        R"({"PortBindings":{"3316/tcp":[{"HostIp":"","HostPort":"3316"},{"HostIp":"::","HostPort":"3316"}],)"
        R"("53/udp":[{"HostIp":"","HostPort":"5353"}]}})");
  std::vector<std::string> problems;
  auto ports = restore::DockerPorts(dir, &problems);
  CHECK(ports == std::vector<model::ProxyPort>{{6, 3316}, {17, 5353}});
  CHECK(problems.empty());
  CHECK(restore::DockerPorts("", &problems).empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("restore: RunRestore applies once and records the outcome") {
  std::string dir = TempDir();
  std::filesystem::create_directories(dir + "/state");
  state::StateStore store(dir + "/state");
  REQUIRE(store.Save(SavedState()).ok());
  testing::FakeNftBackend nft;
  auto rec = restore::RunRestore({IPO_POLICY_FILE, dir + "/state", dir + "/run", ""}, nft);
  CHECK(rec["result"] == "restored");
  CHECK(rec["error"] == "");
  CHECK(rec["generation"] == 41);
  CHECK(nft.calls == std::vector<std::string>{"replace"});
  CHECK(nft.kernel.tables.size() == 4);  // inet, ip and ip6, bridge

  REQUIRE(restore::WriteRecord(dir + "/run", rec).ok());
  auto back = restore::ReadRecord(dir + "/run");
  REQUIRE(back.ok());
  CHECK(*back == rec);
  std::filesystem::remove_all(dir);
}

TEST_CASE("restore: a refused ruleset falls back to the baseline; both refused is 'failed'") {
  std::string dir = TempDir();
  testing::FakeNftBackend nft;
  nft.fail_next = 1;
  auto rec = restore::RunRestore({IPO_POLICY_FILE, dir + "/state", dir + "/run", ""}, nft);
  CHECK(rec["result"] == "fail-closed");
  CHECK(rec["error"] == "injected failure");
  CHECK(nft.kernel.tables.size() == 4);  // inet, ip and ip6, bridge
  CHECK(nft.kernel.ToString() == compile::FailClosedBaseline().ToString());

  testing::FakeNftBackend dead;
  dead.fail_next = 2;
  auto failed = restore::RunRestore({IPO_POLICY_FILE, dir + "/state", dir + "/run", ""}, dead);
  CHECK(failed["result"] == "failed");
  CHECK(failed["error"] == "injected failure; baseline: injected failure");
  std::filesystem::remove_all(dir);
}

TEST_CASE("restore: a garbage policy file loads the baseline and says which file") {
  std::string dir = TempDir();
  std::string policy = Write(dir + "/policy.json", "{ not json");
  testing::FakeNftBackend nft;
  auto rec = restore::RunRestore({policy, dir + "/state", dir + "/run", ""}, nft);
  CHECK(rec["result"] == "fail-closed");
  CHECK(rec["detail"].get<std::string>().find(policy) != std::string::npos);
  CHECK(nft.kernel.ToString() == compile::FailClosedBaseline().ToString());
  CHECK(restore::ReadRecord(dir + "/nowhere").status().code() == Status::Code::kNotFound);
  std::filesystem::remove_all(dir);
}
