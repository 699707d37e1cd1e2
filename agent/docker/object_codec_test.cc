// Tests of object_codec.h on JSON captured from dockerd 20.10.24 (API 1.41).
#include "docker/object_codec.h"

#include <catch2/catch.hpp>

#include "docker/testdata.h"
#include <nlohmann/json.hpp>


namespace ipo::docker {
namespace {

constexpr char kBridgeId[] = "a1e282661d86f48246ae8b1e9f1fbf3c7ed03161580704315f6a8b12530c9689";
constexpr char kCapnetId[] = "e44ac6f464a72856d0a4f87d56db04791a833ea587f41882db5ebad2a4924a60";
constexpr char kOthernetId[] = "a88fa3a6cb827647a60276e540e719e98fece856cffb6b9898461d22a1c3b05a";

TEST_CASE("DecodeContainer: running, published ports on v4 and v6", "[docker][codec]") {
  auto c = DecodeContainer(ReadTestdata("container_web.json"));
  REQUIRE(c.ok());
  CHECK(c->id == "11c44c9ab4ac58f5db4f514d255106a2c107a93d23da59b7dd13fb1228b4f215");
  CHECK(c->name == "web");
  CHECK(c->running);
  CHECK(c->state == "running");
  CHECK(c->pid == 5250);
  CHECK(c->endpoints == std::vector<Endpoint>{{"capnet", kCapnetId, "10.77.0.2", "fd77::2"}});
  CHECK(c->ports == std::vector<PortBinding>{{"tcp", 80, "0.0.0.0", 8080},
                                             {"tcp", 80, "::", 8080},
                                             {"udp", 90, "127.0.0.1", 9090}});
  // What `docker run -p` asked for (HostConfig), known while the container exists.
  CHECK(c->configured_ports == std::vector<PortBinding>{{"tcp", 80, "", 8080}, {"udp", 90, "127.0.0.1", 9090}});
  CHECK(c->network_mode == "capnet");
}

TEST_CASE("DecodeContainer: two networks, no ports", "[docker][codec]") {
  auto c = DecodeContainer(ReadTestdata("container_two.json"));
  REQUIRE(c.ok());
  CHECK(c->name == "two");
  CHECK(c->endpoints == std::vector<Endpoint>{{"bridge", kBridgeId, "172.17.0.2", ""},
                                              {"othernet", kOthernetId, "172.18.0.2", ""}});
  CHECK(c->ports.empty());
  CHECK(c->network_mode == "default");
}

TEST_CASE("DecodeContainer: created and exited containers", "[docker][codec]") {
  auto created = DecodeContainer(ReadTestdata("container_stopped.json"));
  REQUIRE(created.ok());
  CHECK(created->name == "stopped");
  CHECK_FALSE(created->running);
  CHECK(created->state == "created");
  CHECK(created->pid == 0);
  CHECK(created->endpoints == std::vector<Endpoint>{{"bridge", "", "", ""}});

  auto exited = DecodeContainer(ReadTestdata("container_exited.json"));
  REQUIRE(exited.ok());
  CHECK(exited->name == "hc");
  CHECK(exited->state == "exited");
  CHECK_FALSE(exited->running);
  CHECK(exited->endpoints == std::vector<Endpoint>{{"bridge", kBridgeId, "", ""}});
}

TEST_CASE("DecodeContainer: exposed but unpublished port is left out", "[docker][codec]") {
  auto c = DecodeContainer(
      R"({"Id":"x","Name":"/a","State":{"Status":"running","Running":true,"Pid":7},)"
      R"("NetworkSettings":{"Ports":{"53/udp":null,"8443/tcp":[{"HostIp":"","HostPort":"443"}]}}})");
  REQUIRE(c.ok());
  CHECK(c->ports == std::vector<PortBinding>{{"tcp", 8443, "", 443}});
}

TEST_CASE("DecodeContainer names the bad field", "[docker][codec]") {
  auto check = [](std::string_view json, const std::string& message) { CheckInvalid(DecodeContainer(json), message); };
  check("{\"Id\": ", "Docker container JSON: body:1:7: invalid JSON: syntax error while parsing value - unexpected end of "
        "input; expected '[', '{', or a literal");
  check(R"({"Id":"x","State":{"Pid":1e400}})",
        "Docker container JSON: body: invalid JSON: a number is out of range");
  check("{\"Id\":\"x\",\"Labels\":" + std::string(40, '[') + std::string(40, ']') + "}",
        "Docker container JSON: body:1: nesting deeper than 32 levels");
  check(R"({"Name":"/a"})", "Docker container JSON: body:1: missing required key \"Id\"");
  check(R"({"Id":"x","State":{"Running":true,"Pid":"7"}})",
        "Docker container JSON: body:1: State.Pid: must be an integer, got string");
  check(R"({"Id":"x","NetworkSettings":{"Ports":{"http/tcp":null}}})",
        "Docker container JSON: body:1: NetworkSettings.Ports[\"http/tcp\"]: 'http/tcp' is not "
        "<port>/<proto>");
  check(R"({"Id":"x","NetworkSettings":{"Ports":{"80/tcp":[{"HostPort":"99999"}]}}})",
        "Docker container JSON: body:1: NetworkSettings.Ports[\"80/tcp\"][0].HostPort: '99999' is "
        "not a port number");
  check(R"({"Id":"x","NetworkSettings":{"Networks":{"n":[]}}})",
        "Docker container JSON: body:1: NetworkSettings.Networks.n: must be an object, got array");
}

TEST_CASE("DecodeContainerIds", "[docker][codec]") {
  auto ids = DecodeContainerIds(ReadTestdata("containers_list.json"));
  REQUIRE(ids.ok());
  CHECK(*ids == std::vector<std::string>{
                    "064048f463fdd6f1082001f60227085a4c079b5578758ff36c05975d877ae8b4",
                    "330b31b3e8076076e8f033fc0999831ba5d642e07b289598e695f90048ed3876",
                    "11c44c9ab4ac58f5db4f514d255106a2c107a93d23da59b7dd13fb1228b4f215"});
  auto bad = DecodeContainerIds(R"([{"Names":["/a"]}])");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "Docker container list JSON: body:1: [0]: missing required key \"Id\"");
}

TEST_CASE("DecodeNetworks: bridge names, subnets, IPv6", "[docker][codec]") {
  auto nets = DecodeNetworks(ReadTestdata("networks.json"));
  REQUIRE(nets.ok());
  REQUIRE(nets->size() == 5);
  const NetworkInfo& bridge = (*nets)[0];
  CHECK(bridge.name == "bridge");
  CHECK(bridge.id == kBridgeId);
  CHECK(bridge.driver == "bridge");
  CHECK(bridge.bridge_name == "docker0");
  CHECK(bridge.subnets == std::vector<std::string>{"172.17.0.0/16"});
  CHECK_FALSE(bridge.ipv6);

  const NetworkInfo& capnet = (*nets)[1];
  CHECK(capnet.name == "capnet");
  CHECK(capnet.bridge_name == "ipo-cap0");
  CHECK(capnet.subnets == std::vector<std::string>{"10.77.0.0/24", "fd77::/64"});
  CHECK(capnet.ipv6);

  const NetworkInfo& othernet = (*nets)[2];
  CHECK(othernet.bridge_name == "br-a88fa3a6cb82");
  CHECK(othernet.subnets == std::vector<std::string>{"172.18.0.0/16"});

  CHECK((*nets)[3].name == "none");
  CHECK((*nets)[3].driver == "null");
  CHECK((*nets)[3].bridge_name.empty());
  CHECK((*nets)[3].subnets.empty());
  CHECK((*nets)[4].driver == "host");
  CHECK((*nets)[4].bridge_name.empty());
}

TEST_CASE("DecodeNetwork: one object and its errors", "[docker][codec]") {
  auto n = DecodeNetwork(R"({"Id":"0123456789abcdef","Name":"bridge","Driver":"bridge"})");
  REQUIRE(n.ok());
  CHECK(n->bridge_name == "docker0");
  auto bad = DecodeNetworks(R"([{"Id":"a","IPAM":{"Config":[{"Subnet":1}]}}])");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "Docker network list JSON: body:1: [0].IPAM.Config[0].Subnet: must be a string, got number");
  auto no_id = DecodeNetwork(R"({"Name":"x"})");
  REQUIRE_FALSE(no_id.ok());
  CHECK(no_id.status().message() == "Docker network JSON: body:1: missing required key \"Id\"");
}

TEST_CASE("BridgeName", "[docker][codec]") {
  CHECK(BridgeName("x", "bridge", "0123456789abcdef", {}) == "br-0123456789ab");
  CHECK(BridgeName("bridge", "bridge", "0123456789abcdef", {}) == "docker0");
  CHECK(BridgeName("bridge", "bridge", "0123456789abcdef",
                   {{"com.docker.network.bridge.name", "ipo0"}}) == "ipo0");
  CHECK(BridgeName("x", "bridge", "0123456789abcdef",
                   {{"com.docker.network.bridge.name", ""}}) == "br-0123456789ab");
  CHECK(BridgeName("x", "macvlan", "0123456789abcdef", {}).empty());
}

TEST_CASE("DecodeApiVersion and DecodeErrorMessage", "[docker][codec]") {
  auto v = DecodeApiVersion(ReadTestdata("version.json"));
  REQUIRE(v.ok());
  CHECK(*v == "1.41");
  auto missing = DecodeApiVersion("{}");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "Docker /version JSON: body:1: missing required key \"ApiVersion\"");

  CHECK(DecodeErrorMessage(R"({"message":"No such container: nope"})") ==
        "No such container: nope");
  CHECK(DecodeErrorMessage("  page not found\n") == "page not found");
  CHECK(DecodeErrorMessage("") == "(empty body)");
  CHECK(DecodeErrorMessage(std::string(300, 'x')) == std::string(200, 'x') + "...");
}

TEST_CASE("EncodeNetworkCreate", "[docker][codec]") {
  NetworkSpec spec;
  spec.name = "ipo-shared";
  spec.bridge_name = "ipo-br0";
  spec.subnet_v4 = "10.88.0.0/24";
  spec.subnet_v6 = "fd88::/64";
  spec.icc = false;
  spec.labels = {{"com.ipo.owner", "ipo-netd"}};
  auto body = EncodeNetworkCreate(spec);
  REQUIRE(body.ok());
  CHECK(nlohmann::json::parse(*body) == nlohmann::json::parse(R"({
    "Name": "ipo-shared", "CheckDuplicate": true, "Driver": "bridge", "EnableIPv6": true,
    "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.88.0.0/24"}, {"Subnet": "fd88::/64"}]},
    "Options": {"com.docker.network.bridge.name": "ipo-br0",
                "com.docker.network.bridge.enable_icc": "false"},
    "Labels": {"com.ipo.owner": "ipo-netd"}})"));

  spec.subnet_v6.clear();
  spec.bridge_name.clear();
  spec.icc = true;
  auto v4 = EncodeNetworkCreate(spec);
  REQUIRE(v4.ok());
  const auto j = nlohmann::json::parse(*v4);
  CHECK(j["EnableIPv6"] == false);
  CHECK(j["IPAM"]["Config"] == nlohmann::json::parse(R"([{"Subnet": "10.88.0.0/24"}])"));
  CHECK(j["Options"] == nlohmann::json::parse(R"({"com.docker.network.bridge.enable_icc": "true"})"));

  spec.bridge_name = "ipo-bridge-too-long";
  auto long_name = EncodeNetworkCreate(spec);
  REQUIRE_FALSE(long_name.ok());
  CHECK(long_name.status().message() ==
        "network spec ipo-shared: bridge_name 'ipo-bridge-too-long' is longer than 15 bytes");
  auto no_name = EncodeNetworkCreate(NetworkSpec{});
  REQUIRE_FALSE(no_name.ok());
  CHECK(no_name.status().message() == "network spec: name is empty");
}

TEST_CASE("CompareApiVersions is numeric", "[docker][codec]") {
  CHECK(CompareApiVersions("1.41", "1.41") == 0);
  CHECK(CompareApiVersions("1.9", "1.41") < 0);
  CHECK(CompareApiVersions("1.43", "1.41") > 0);
  CHECK(CompareApiVersions("2.0", "1.99") > 0);
}

}  // namespace
}  // namespace ipo::docker
