#include "metrics/textfile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace ipo::metrics {
namespace {

Status Errno(const std::string& what) { return Status::Internal(what + ": " + std::strerror(errno)); }

}  // namespace

Status WriteTextfile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Errno("open " + tmp);
  Status st = Status::Ok();
  size_t done = 0;
  while (st.ok() && done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) st = Errno("write " + tmp);
    else done += size_t(n);
  }
  if (st.ok() && ::fchmod(fd.get(), 0644) != 0) st = Errno("chmod " + tmp);
  if (st.ok() && ::close(fd.release()) != 0) st = Errno("close " + tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Errno("rename " + tmp + " to " + path);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace ipo::metrics
