#include "model/observed_json.h"

#include <catch2/catch.hpp>

using ipo::model::Observed;
using ipo::model::ObservedToJson;
using nlohmann::json;

namespace {

Observed Sample() {
  Observed o;
  o.containers = {{"docker_a", "abc", true, "172.30.1.2", "fd00:ac1e:1::2"}, {"docker_b", "def", false, "", ""}};
  o.proxy_ports = {{6, 9999}, {17, 5353}};
  o.docker_published = {{6, 9999, false, "", "172.30.1.3", 3316, "docker_b"},
                        {17, 5353, true, "fd00::1", "fd00:ac1e:1::2", 53, "docker_a"}};
  o.bridges = {"br-1a2b3c4d5e6f", "docker0"};
  o.default_bridge_v4 = "172.17.0.0/16";
  return o;
}

// `j` read with ReadObserved; at "observed" inside a larger document when `nested`, as in the
// status document.
ipo::Result<Observed> Read(const json& j, bool nested = false) {
  ipo::JsonReadOptions options;
  options.null_is_absent = true;
  std::string text = (nested ? json{{"observed", j}} : j).dump();
  return ipo::ReadJsonAs<Observed>(text, "o.json", options, [&](const ipo::JsonValue& root) {
    return ipo::model::ReadObserved(nested ? root.Get("observed") : root);
  });
}

bool Same(const Observed& a, const Observed& b) { return ObservedToJson(a) == ObservedToJson(b); }

}  // namespace

TEST_CASE("Observed round-trips through its JSON form, which has the state file's member names") {
  json j = ObservedToJson(Sample());
  CHECK(j.dump() ==
        R"({"bridges":["br-1a2b3c4d5e6f","docker0"],"containers":[{"id":"abc","ipv4":"172.30.1.2",)"
        R"("ipv6":"fd00:ac1e:1::2","name":"docker_a","running":true},{"id":"def","ipv4":"","ipv6":"",)"
        R"("name":"docker_b","running":false}],"default_bridge_v4":"172.17.0.0/16","docker_published":[)"
        R"({"container":"docker_b","host_ip":"","host_port":9999,"port":3316,"proto":6,"target":"172.30.1.3",)"
        R"("v6":false},{"container":"docker_a","host_ip":"fd00::1","host_port":5353,"port":53,"proto":17,)"
        R"("target":"fd00:ac1e:1::2","v6":true}],"proxy_ports":[{"port":9999,"proto":6},{"port":5353,"proto":17}]})");
  auto back = Read(j);
  REQUIRE(back.ok());
  CHECK(Same(*back, Sample()));
  CHECK(back->docker_published == Sample().docker_published);
}

TEST_CASE("Observed from an older document: the members added later may be absent, others may be present") {
  json j = json::parse(R"({"generation": 41, "containers": [], "proxy_ports": [{"proto": 6, "port": 9999}]})");
  auto o = Read(j);
  REQUIRE(o.ok());
  CHECK(o->proxy_ports.size() == 1);
  CHECK(o->docker_published.empty());
  CHECK(o->bridges.empty());
  CHECK(o->default_bridge_v4.empty());
}

TEST_CASE("Observed errors name the member") {
  json j = ObservedToJson(Sample());
  j["containers"][1].erase("ipv4");
  CHECK(Read(j, true).status().message() == "o.json:1: observed.containers[1]: missing required key \"ipv4\"");
  j = ObservedToJson(Sample());
  j["docker_published"][0]["host_port"] = "9999";
  CHECK(Read(j).status().message() == "o.json:1: docker_published[0].host_port: must be an integer, got string");
  j["docker_published"][0]["host_port"] = 65536;
  CHECK(Read(j).status().message() == "o.json:1: docker_published[0].host_port: must be between 0 and 65535, got 65536");
  j.erase("proxy_ports");
  CHECK(Read(j).status().message() == "o.json:1: missing required key \"proxy_ports\"");
  CHECK(Read(json::array(), true).status().message() == "o.json:1: observed: must be an object, got array");
}
