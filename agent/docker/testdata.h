// ReadTestdata: the fixtures captured from a real dockerd (agent/docker/testdata/), for the
// decoder tests. REQUIRES: IPO_DOCKER_TESTDATA defined by the build.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace ipo::docker {

inline std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(IPO_DOCKER_TESTDATA) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace ipo::docker
