// The ownership rules NetlinkBackend follows before replacing a table (pure; the kernel side,
// claiming and orphaned tables, is in nft_monitor_test.cc).
#include "nft/table_ownership.h"

#include <catch2/catch.hpp>

namespace ipo::nft {
namespace {

TEST_CASE("a table owned by another socket is not ours to replace") {
  const uint32_t us = 4242;
  CHECK(OwnedByOther(TableInfo{kTableFlagOwner, 777}, us));
  CHECK(OwnedByOther(TableInfo{kTableFlagOwner | kTableFlagPersist, 777}, us));
  CHECK_FALSE(OwnedByOther(TableInfo{kTableFlagOwner, us}, us));
  CHECK_FALSE(OwnedByOther(TableInfo{0, std::nullopt}, us));
  // The owner attribute without the owner flag (or the other way round) binds nobody.
  CHECK_FALSE(OwnedByOther(TableInfo{0, 777}, us));
  CHECK_FALSE(OwnedByOther(TableInfo{kTableFlagOwner, std::nullopt}, us));
}

TEST_CASE("a persistent table without an owner is orphaned") {
  CHECK(Orphaned(TableInfo{kTableFlagPersist, std::nullopt}));
  CHECK_FALSE(Orphaned(TableInfo{kTableFlagPersist | kTableFlagOwner, 777}));
  CHECK_FALSE(Orphaned(TableInfo{0, std::nullopt}));
  CHECK_FALSE(Orphaned(TableInfo{kTableFlagOwner, 777}));
}

TEST_CASE("new tables carry owner and persist only when the backend claims them") {
  CHECK(NewTableFlags(true) == (kTableFlagOwner | kTableFlagPersist));
  CHECK(NewTableFlags(false) == 0);
}

}  // namespace
}  // namespace ipo::nft
