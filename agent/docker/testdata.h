// ReadTestdata: the fixtures captured from a real dockerd (agent/docker/testdata/), for the
// decoder tests; CheckInvalid: a decoder's refusal. REQUIRES: IPO_DOCKER_TESTDATA defined by
// the build.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "common/status.h"

namespace ipo::docker {

inline std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(IPO_DOCKER_TESTDATA) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Checks that `decoded` failed with InvalidArgument and exactly `message`.
template <typename T>
void CheckInvalid(const Result<T>& decoded, const std::string& message) {
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == Status::Code::kInvalidArgument);
  CHECK(decoded.status().message() == message);
}

}  // namespace ipo::docker
