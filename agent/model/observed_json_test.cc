#include "model/observed_json.h"

#include <catch2/catch.hpp>

using ipo::model::Observed;
using ipo::model::ObservedFromJson;
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
  auto back = ObservedFromJson(j, "");
  REQUIRE(back.ok());
  CHECK(Same(*back, Sample()));
  CHECK(back->docker_published == Sample().docker_published);
}

TEST_CASE("Observed from an older document: the members added later may be absent, others may be present") {
  json j = json::parse(R"({"generation": 41, "containers": [], "proxy_ports": [{"proto": 6, "port": 9999}]})");
  auto o = ObservedFromJson(j, "");
  REQUIRE(o.ok());
  CHECK(o->proxy_ports.size() == 1);
  CHECK(o->docker_published.empty());
  CHECK(o->bridges.empty());
  CHECK(o->default_bridge_v4.empty());
}

TEST_CASE("Observed errors name the member") {
  json j = ObservedToJson(Sample());
  j["containers"][1].erase("ipv4");
  CHECK(ObservedFromJson(j, "observed").status().message() == "observed.containers[1].ipv4: missing");
  j = ObservedToJson(Sample());
  j["docker_published"][0]["host_port"] = "9999";
  CHECK(ObservedFromJson(j, "").status().message() ==
        "docker_published[0].host_port: expected an integer from 0 to 65535, found string");
  j.erase("proxy_ports");
  CHECK(ObservedFromJson(j, "").status().message() == "proxy_ports: missing");
  CHECK(ObservedFromJson(json::array(), "observed").status().message() ==
        "observed: expected an object, found array");
}
