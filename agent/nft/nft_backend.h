// NftBackend: where a Ruleset meets the kernel. The agent talks to it only through this
// interface; NetlinkBackend (netlink_backend.h) is the real one, FakeNftBackend
// (agent/testing/fake_nft_backend.h) an in-memory one for tests of the daemon's logic.
//
// Every method that changes the kernel sends exactly one nfnetlink batch, so the kernel
// applies all of it or none of it. Only tables named in the argument are touched.
//
// Thread safety: not thread-safe; one owner.
#pragma once

#include <vector>

#include "common/status.h"
#include "ruleset/ruleset.h"

namespace ipo::nft {

class NftBackend {
 public:
  virtual ~NftBackend() = default;

  // Replaces each table of `desired` in one batch: for each table that exists "delete
  // table", then the table with all its sets, elements, chains and rules. With check_only
  // the batch is sent without its commit (the kernel validates it and discards it) and
  // nothing changes.
  // On error the kernel state is unchanged and the message names the object that failed.
  virtual Status ReplaceTables(const Ruleset& desired, bool check_only) = 0;

  // Adds and deletes set/map elements in one batch.
  virtual Status UpdateElements(const std::vector<ElementChange>& changes) = 0;

  // Reads the named tables back from the kernel. Absent tables are left out of the result
  // (not an error). Rules come back with `comment` (the Rule::Tag() that was written), `counts`
  // (their counter's values) and no expressions; a rule whose expressions are not the ones written under that tag gets
  // " [content differs: ...]" appended to its comment (so drift is found on content, not on
  // the comment alone); sets with their definitions and elements, intervals as ranges again.
  virtual Result<Ruleset> ReadTables(const std::vector<TableRef>& tables) = 0;

  // Deletes the named tables (absent ones are ignored), in one batch.
  virtual Status DeleteTables(const std::vector<TableRef>& tables) = 0;
};

}  // namespace ipo::nft
