// How the Docker decoders (event_decoder.h, object_codec.h) read a body of the Engine API:
// through common/json_reader.h, leniently about keys (Docker adds fields in every release)
// and about null (Docker writes null for an empty map or list), strictly about types.
// A failed decode is InvalidArgument "<what>: body:<line>: <path>: <problem>", e.g.
// "Docker container JSON: body:1: State.Pid: must be an integer, got string".
//
// Thread safety: stateless.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/json_reader.h"
#include "common/status.h"

namespace ipo::docker::internal {

// Docker's objects nest a few levels (NetworkSettings.Networks.<name>.IPAMConfig); the bounds
// keep the parser off deep or huge bodies, which cost it super-linear time in the sanitizer
// build (32,000 levels: 0.3 s for 6 decoders).
inline constexpr JsonReadOptions kDockerJson{
    JsonLimits{/*max_bytes=*/64 << 20, /*max_depth=*/32, /*max_string=*/1 << 20}, JsonPathStyle::kPath,
    /*null_is_absent=*/true};

// Reads `body` with read(root) -> T; errors as described above.
template <typename T, typename F>
Result<T> Decode(std::string_view what, std::string_view body, F&& read) {
  Result<T> r = ReadJsonAs<T>(body, "body", kDockerJson, std::forward<F>(read));
  if (!r.ok()) return r.status().WithContext(std::string(what));
  return r;
}

}  // namespace ipo::docker::internal
