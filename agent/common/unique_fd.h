// UniqueFd: owns one file descriptor and closes it on scope exit (RAII for raw fds the
// agent opens itself: state files, sock_diag sockets).
//
// Thread safety: one owner.
#pragma once

#include <unistd.h>

namespace ipo {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Gives the descriptor up without closing it.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace ipo
