#include "model/observed.h"

#include <catch2/catch.hpp>

using namespace ipo;

TEST_CASE("protocol names and numbers go both ways") {
  for (const char* name : {"tcp", "udp", "sctp"})
    CHECK(std::string(model::ProtoName(model::ProxyPortFor(name, 80).proto)) == name);
  CHECK(model::ProxyPortFor("udp", 53) == model::ProxyPort{17, 53});
  CHECK(std::string(model::ProtoName(6)) == "tcp");
  CHECK(std::string(model::ProtoName(0)) == "tcp");  // unknown: Docker's default
}

TEST_CASE("merged ports stay sorted and unique") {
  std::vector<model::ProxyPort> ports = {{17, 53}, {6, 80}};
  model::MergeProxyPorts(ports, {{6, 80}, {6, 22}});
  CHECK(ports == std::vector<model::ProxyPort>{{6, 22}, {6, 80}, {17, 53}});
}
