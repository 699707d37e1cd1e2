// The main() of a libFuzzer target outside the "fuzz" preset (cmake/IpoTesting.cmake):
// runs LLVMFuzzerTestOneInput once on every file named on the command line, or found in a
// directory named there (sorted by path), so that CTest replays the committed seed corpus
// with gcc and, in the "asan" preset, under ASan/UBSan. A crash fails the test as any crash
// does; an input that runs longer than --max-seconds (default 1) fails it with its name.
//
// Usage: <target> [--max-seconds=N] FILE_OR_DIR...
// Exit status: 0 when every input ran in time, 1 otherwise, 2 on a usage or read error.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// The regular files named by `arg`: itself, or those below it when it is a directory.
bool CollectInputs(const std::string& arg, std::vector<fs::path>* out) {
  std::error_code ec;
  if (fs::is_directory(arg, ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(arg, ec)) {
      if (entry.is_regular_file()) out->push_back(entry.path());
    }
    return !ec;
  }
  if (!fs::is_regular_file(arg, ec)) return false;
  out->emplace_back(arg);
  return true;
}

bool ReadFile(const fs::path& path, std::vector<uint8_t>* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  double max_seconds = 1.0;
  std::vector<fs::path> inputs;
  constexpr std::string_view kMaxFlag = "--max-seconds=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(kMaxFlag, 0) == 0) {
      max_seconds = std::stod(arg.substr(kMaxFlag.size()));
      continue;
    }
    if (!CollectInputs(arg, &inputs)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], arg.c_str());
      return 2;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s [--max-seconds=N] FILE_OR_DIR...  (no input given)\n", argv[0]);
    return 2;
  }
  std::sort(inputs.begin(), inputs.end());

  int slow = 0;
  double slowest = 0;
  std::vector<uint8_t> bytes;
  for (const fs::path& path : inputs) {
    if (!ReadFile(path, &bytes)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
      return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    slowest = std::max(slowest, seconds);
    if (seconds > max_seconds) {
      std::fprintf(stderr, "SLOW: %s (%zu bytes) took %.2f s, more than %.2f s\n", path.c_str(),
                   bytes.size(), seconds, max_seconds);
      ++slow;
    }
  }
  std::printf("replayed %zu inputs, slowest %.3f s, %d slow\n", inputs.size(), slowest, slow);
  return slow == 0 ? 0 : 1;
}
