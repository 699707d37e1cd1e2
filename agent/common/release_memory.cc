#include "common/release_memory.h"

#include <malloc.h>

namespace ipo {

void ReleaseFreedMemory() { malloc_trim(0); }

}  // namespace ipo
