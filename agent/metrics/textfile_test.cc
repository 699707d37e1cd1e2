#include "metrics/textfile.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace {

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "ipo-textfile-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("the textfile is replaced whole, 0644, with no temporary file left") {
  TempDir d;
  fs::path f = d.path / "ipo_netd.prom";
  REQUIRE(ipo::metrics::WriteTextfile(f.string(), "a 1\n").ok());
  REQUIRE(ipo::metrics::WriteTextfile(f.string(), "b 2\n").ok());
  CHECK(Read(f) == "b 2\n");
  struct stat st {};
  REQUIRE(::stat(f.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK_FALSE(fs::exists(d.path / "ipo_netd.prom.tmp"));
}

TEST_CASE("a textfile that cannot be written names the path and leaves the old file") {
  TempDir d;
  fs::path f = d.path / "ipo_netd.prom";
  REQUIRE(ipo::metrics::WriteTextfile(f.string(), "old 1\n").ok());
  auto st = ipo::metrics::WriteTextfile((d.path / "missing-dir" / "x.prom").string(), "x 1\n");
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("missing-dir/x.prom.tmp") != std::string::npos);
  CHECK(Read(f) == "old 1\n");
}
