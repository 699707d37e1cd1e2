// ReleaseFreedMemory: hands the heap's free pages back to the kernel (glibc malloc_trim on
// every arena). Called after the few large, short-lived allocations of the agent (a full list
// of a host with a thousand containers, the status document of such a host served on D-Bus)
// so that the resident set follows what is in use, not the peak of the last such moment.
//
// Thread safety: thread-safe (malloc_trim locks each arena).
#pragma once

namespace ipo {

void ReleaseFreedMemory();

}  // namespace ipo
