// Test helpers for the control API: a BusServer on a private socket in a temporary directory,
// and a forked child that calls it as uid 65534 (nobody).
//
// Thread safety: test code; ServerFixture's counters are atomic (the server thread bumps them).
#pragma once

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bus/bus_server.h"

namespace ipo::bus::testing {

// A temporary directory with a running BusServer on <dir>/bus.sock (no system bus unless
// system_bus is set before Start).
class ServerFixture {
 public:
  ServerFixture() {
    char tmpl[] = "/tmp/ipo-bus-test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    sock_ = dir_ + "/bus.sock";
  }
  ~ServerFixture() {
    Stop();
    std::filesystem::remove_all(dir_);
  }
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  void Start() {
    BusServer::Handlers h;
    h.status = [this] { return std::string("{\"health\":\"ok\",\"generation\":") + std::to_string(++statuses) + "}"; };
    h.reload = [this]() -> Status {
      ++reloads;
      std::lock_guard<std::mutex> lock(mu);
      return reload_answer;
    };
    h.resync = [this] { ++resyncs; };
    auto server = BusServer::Listen({.socket_path = sock_, .system_bus = system_bus}, h);
    REQUIRE(server.ok());
    server_ = std::move(*server);
    thread_ = std::thread([this] { server_->Run([this] { return stop_.load(); }); });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    server_.reset();
  }

  BusServer& server() { return *server_; }
  const std::string& sock() const { return sock_; }
  const std::string& dir() const { return dir_; }

  std::atomic<int> statuses{0};
  std::atomic<int> reloads{0};
  std::atomic<int> resyncs{0};
  std::mutex mu;
  Status reload_answer;  // GUARDED_BY(mu)
  bool system_bus = false;

 private:
  std::string dir_;
  std::string sock_;
  std::unique_ptr<BusServer> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A child forked at construction (so before the test starts any thread) that waits for
// Finish(), then drops to uid and gid 65534 and exits with what `body` returns: one bit per
// expectation that failed, 0 when all held (100 and up: the child could not get that far).
class NobodyChild {
 public:
  explicit NobodyChild(const std::function<int()>& body) {
    REQUIRE(pipe(go_) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      close(go_[1]);
      char c = 0;
      if (read(go_[0], &c, 1) != 1) _exit(100);
      if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
        _exit(101);
      _exit(body());
    }
    close(go_[0]);
  }
  NobodyChild(const NobodyChild&) = delete;
  NobodyChild& operator=(const NobodyChild&) = delete;

  // Lets the child run and waits for it; its exit code.
  int Finish() {
    REQUIRE(write(go_[1], "o", 1) == 1);
    close(go_[1]);
    int wstatus = 0;
    REQUIRE(waitpid(pid_, &wstatus, 0) == pid_);
    REQUIRE(WIFEXITED(wstatus));
    return WEXITSTATUS(wstatus);
  }

 private:
  int go_[2] = {-1, -1};
  pid_t pid_ = -1;
};

}  // namespace ipo::bus::testing
