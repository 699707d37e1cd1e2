// Tests of `ipo-netctl render nginx` through CLI11: --out replaces atomically, a bad spec
// writes nothing and fails with CLI::RuntimeError.
#include "cli/render_cmd.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ipo::cli {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ipo-render-test.XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    REQUIRE(mkdtemp(buf.data()) != nullptr);
    path = buf.data();
  }
  ~TempDir() { fs::remove_all(path); }
};

// Parses `args` (without the program name) with a fresh app.
void Run(std::vector<std::string> args) {
  CLI::App app{"ipo-netctl"};
  RegisterRenderCommand(app);
  std::vector<const char*> argv{"ipo-netctl"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

const std::string kSpec = std::string(IPO_SOURCE_DIR) + "/rules/nginx/ipo.com.json";

TEST_CASE("render nginx --out writes the committed rendering", "[render]") {
  TempDir d;
  fs::path out = d.path / "ipo.com.conf";
  Run({"render", "nginx", "--spec", kSpec, "--out", out.string(), "--target", "rocky8"});
  CHECK(Slurp(out) == Slurp(std::string(IPO_SOURCE_DIR) + "/rules/nginx/ipo.com.rocky8.conf"));
  CHECK((fs::status(out).permissions() & fs::perms::others_read) != fs::perms::none);
  // Only the result is left in the directory: no temp file.
  CHECK(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()) == 1);
}

TEST_CASE("a bad spec fails and leaves --out untouched", "[render]") {
  TempDir d;
  fs::path spec = d.path / "bad.json";
  std::ofstream(spec) << "{\"version\": 1, \"domain\": \"ipo.com\", \"colour\": 1}";
  fs::path out = d.path / "out.conf";
  std::ofstream(out) << "previous";
  CHECK_THROWS_AS(Run({"render", "nginx", "--spec", spec.string(), "--out", out.string()}),
                  CLI::RuntimeError);
  CHECK(Slurp(out) == "previous");
  CHECK(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()) == 2);
  Status s = RunRenderNginx(spec.string(), out.string(), "debian12");
  CHECK(s.message() == spec.string() + ":1: missing key \"listen\"");
}

TEST_CASE("an unknown --target is a CLI validation error", "[render]") {
  CHECK_THROWS_AS(Run({"render", "nginx", "--spec", kSpec, "--target", "centos7"}), CLI::ValidationError);
}

TEST_CASE("WriteFileAtomically reports a missing directory and creates nothing", "[render]") {
  TempDir d;
  Status s = WriteFileAtomically((d.path / "no" / "such.conf").string(), "x");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().rfind("cannot create a temp file in " + (d.path / "no").string(), 0) == 0);
}

}  // namespace
}  // namespace ipo::cli
