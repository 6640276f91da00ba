// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/launcher.hpp — kiln's own launcher: config.devices = N starts ranks 1..N-1 by re-executing this binary.
#pragma once
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>

extern char** environ;

namespace kiln::detail {

/// A TCP port that was free a moment ago on the loopback interface (bound to port 0, then closed).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("kiln: launcher: cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw Error("kiln: launcher: cannot bind a loopback socket to find a free port");
  return ntohs(a.sin_port);
}

/// The ranks this process started; waited for when the process exits.
struct LaunchedRanks {
  std::vector<pid_t> pids;
  static LaunchedRanks& get() {
    static LaunchedRanks r;
    return r;
  }
  /// At exit of rank 0: waits for every other rank. If one failed, says which and makes this
  /// process's status 1 too, so a caller (CI, a shell) sees the failure.
  static void wait_all() {
    bool failed = false;
    int rank = 1;
    for (pid_t pid : get().pids) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        failed = true;
        if (WIFSIGNALED(status)) std::fprintf(stderr, "kiln: rank %d (pid %d) was killed by signal %d\n", rank, pid, WTERMSIG(status));
        else std::fprintf(stderr, "kiln: rank %d (pid %d) exited with status %d\n", rank, pid, WEXITSTATUS(status));
      }
      ++rank;
    }
    if (failed) {
      std::fflush(nullptr);
      std::_Exit(1);
    }
  }
};

/// Makes this process rank 0 of `n` and starts ranks 1..n-1: each runs this binary again
/// (/proc/self/exe, the same arguments) with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and
/// MASTER_PORT set, as torchrun would. Re-executing, rather than forking a process that has
/// started LibTorch's threads, gives every rank a clean start. The children die with rank 0.
inline void launch_local_ranks(int n) {
  std::ifstream cmd("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t i = 0; i < raw.size();) {
    const auto end = raw.find('\0', i);
    args.push_back(raw.substr(i, end - i));
    i = end == std::string::npos ? raw.size() : end + 1;
  }
  const int port = free_port();
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(n).c_str(), 1);
  ::setenv("KILN_LAUNCHED", "1", 1);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (int r = 1; r < n; ++r) {
    // Everything the child needs is built before fork: between fork and exec only async-signal-safe calls.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      if (kv.rfind("RANK=", 0) == 0 || kv.rfind("LOCAL_RANK=", 0) == 0) continue;
      env_strings.push_back(kv);
    }
    env_strings.push_back("RANK=" + std::to_string(r));
    env_strings.push_back("LOCAL_RANK=" + std::to_string(r));
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(fmt::format("kiln: launcher: cannot start rank {}: fork failed", r));
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);  // rank 0 is already gone
      ::execve("/proc/self/exe", argv.data(), envp.data());
      ::_exit(127);
    }
    LaunchedRanks::get().pids.push_back(pid);
  }
  ::setenv("RANK", "0", 1);
  ::setenv("LOCAL_RANK", "0", 1);
  std::atexit(&LaunchedRanks::wait_all);
}

}  // namespace kiln::detail
