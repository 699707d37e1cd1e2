// WriteTextfile: replaces a file atomically, the way node_exporter's textfile collector
// needs it (the collector must never read half a file): the text goes to "<path>.tmp" in
// the same directory (not matched by the collector's *.prom), is flushed, and is renamed
// over <path> (mode 0644). On failure the old file stays and the temporary one is removed.
//
// Thread safety: one writer per path.
#pragma once

#include <string>

#include "common/status.h"

namespace ipo::metrics {

Status WriteTextfile(const std::string& path, const std::string& text);

}  // namespace ipo::metrics
