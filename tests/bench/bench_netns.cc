#include "tests/bench/bench_netns.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/bench/bench_forwards.h"
#include "tests/bench/bench_util.h"

namespace ferry::bench {
namespace {

// Paths of live namespaces, readable from a signal handler: fixed storage,
// a slot is published by setting `used` after its path is written.
constexpr int kSlots = 256;  // the fan-out benchmark runs 100+ at once
constexpr size_t kPathBytes = 128;
char g_paths[kSlots][kPathBytes];
std::atomic<bool> g_claimed[kSlots];
std::atomic<bool> g_used[kSlots];

int Register(const std::string& path) {
  if (path.size() >= kPathBytes) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_claimed[i].compare_exchange_strong(expected, true)) continue;
    std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
    g_used[i].store(true);
    return i;
  }
  return -1;
}

void Unregister(int slot) {
  g_used[slot].store(false);
  g_claimed[slot].store(false);
}

// What `ip netns del` does, with async-signal-safe calls only.
void RemoveMount(const char* path) {
  umount2(path, MNT_DETACH);
  unlink(path);
}

void OnSignal(int sig) {
  for (int i = 0; i < kSlots; ++i) {
    if (g_used[i].load()) RemoveMount(g_paths[i]);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

void InstallNetnsCleanupHandlers() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGABRT, SIGBUS, SIGFPE}) {
    signal(sig, OnSignal);
  }
}

absl::StatusOr<std::unique_ptr<Netns>> Netns::Create(absl::string_view role) {
  static std::atomic<int> counter{0};
  std::string name = absl::StrCat("fb-", role, "-", getpid(), "-", counter++);
  std::string path = absl::StrCat("/run/netns/", name);
  const int slot = Register(path);
  if (slot < 0) return absl::ResourceExhaustedError("too many benchmark namespaces at once");
  absl::StatusOr<ProcessResult> added = MustRun({"ip", "netns", "add", name}, nullptr);
  if (!added.ok()) {
    Unregister(slot);
    return added.status();
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    RemoveMount(path.c_str());
    Unregister(slot);
    return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(err)));
  }
  return std::unique_ptr<Netns>(new Netns(std::move(name), fd, slot));
}

Netns::~Netns() {
  close(fd_);
  absl::StatusOr<ProcessResult> del = RunProcess({"ip", "netns", "del", name_}, nullptr);
  if (!del.ok() || del->exit_code != 0) RemoveMount(g_paths[slot_]);
  Unregister(slot_);
}

absl::StatusOr<std::unique_ptr<NetnsEntry>> NetnsEntry::Enter(const Netns& ns) {
  const int original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original < 0) return absl::InternalError("open /proc/thread-self/ns/net");
  if (setns(ns.fd(), CLONE_NEWNET) != 0) {
    const int err = errno;
    close(original);
    return absl::InternalError(absl::StrCat("setns ", ns.name(), ": ", std::strerror(err)));
  }
  return std::unique_ptr<NetnsEntry>(new NetnsEntry(original));
}

NetnsEntry::~NetnsEntry() {
  if (setns(original_, CLONE_NEWNET) != 0) {
    // Staying in a benchmark namespace would run later work in the wrong
    // place, and it is about to be deleted: stop here.
    std::fprintf(stderr, "ferry-bench: setns back to the original namespace failed\n");
    std::abort();
  }
  close(original_);
}

absl::StatusOr<int> ListenTcp(const Netns& ns, uint16_t port, absl::string_view role) {
  int fd = -1;
  {
    absl::StatusOr<std::unique_ptr<NetnsEntry>> entry = NetnsEntry::Enter(ns);
    if (!entry.ok()) return entry.status();
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) return absl::InternalError(absl::StrCat(role, " socket: ", std::strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
    const int err = errno;
    close(fd);
    return absl::InternalError(
        absl::StrCat(role, " bind/listen on port ", port, ": ", std::strerror(err)));
  }
  return fd;
}

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, const Netns* ns,
                                         const std::string& stdin_path, double timeout_seconds) {
  constexpr int kHwmPollMs = 5;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const char* in_path = stdin_path.empty() ? "/dev/null" : stdin_path.c_str();
  const int ns_fd = ns != nullptr ? ns->fd() : -1;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  // Closed by the child's exec: until then its VmHWM is the forked copy's.
  int execed_pipe[2];
  if (pipe2(execed_pipe, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return absl::InternalError("pipe2");
  }

  ProcessResult result;
  const double start = NowSeconds();
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], execed_pipe[0], execed_pipe[1]}) close(fd);
    return absl::InternalError("fork");
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only until exec.
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0) _exit(126);
    const int in = open(in_path, O_RDONLY);
    if (in < 0) _exit(126);
    dup2(in, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(execed_pipe[1]);
  bool execed = false;
  char buf[4096];
  bool killed = false;
  for (;;) {
    const double left = start + timeout_seconds - NowSeconds();
    if (left <= 0 && !killed) {
      kill(pid, SIGKILL);
      killed = true;
    }
    // VmHWM only grows, so the last reading before exit is the peak up to
    // then; a zombie has none, so an exited child reads 0 and is ignored.
    if (!execed) {
      pollfd e{execed_pipe[0], POLLIN, 0};
      execed = poll(&e, 1, 0) > 0;
    }
    if (execed) result.peak_hwm_kib = std::max(result.peak_hwm_kib, ReadStatusKib("VmHWM", pid));
    pollfd p{out[0], POLLIN, 0};
    const int ready =
        poll(&p, 1, killed ? 1000 : std::min(kHwmPollMs, static_cast<int>(left * 1000) + 1));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    // Bound the captured text; a runaway child must not fill memory.
    if (result.output.size() < (1 << 20)) result.output.append(buf, n);
  }
  close(out[0]);
  close(execed_pipe[0]);
  int status = 0;
  rusage ru{};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  result.wall = NowSeconds() - start;
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  result.user = sec(ru.ru_utime);
  result.sys = sec(ru.ru_stime);
  result.max_rss_kib = ru.ru_maxrss;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (killed) {
    return absl::DeadlineExceededError(
        absl::StrCat("`", absl::StrJoin(argv, " "), "` ran over ", timeout_seconds, " s"));
  }
  return result;
}

absl::StatusOr<ProcessResult> MustRun(const std::vector<std::string>& argv, const Netns* ns,
                                      const std::string& stdin_path) {
  absl::StatusOr<ProcessResult> r = RunProcess(argv, ns, stdin_path);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    std::string cmd = absl::StrJoin(argv, " ");
    if (cmd.size() > 200) cmd = absl::StrCat(cmd.substr(0, 200), "...");
    return absl::InternalError(
        absl::StrCat("`", cmd, "` exited ", r->exit_code, ": ", r->output.substr(0, 2000)));
  }
  return r;
}

absl::Status IpBatch(const Netns& ns, const std::string& dir, const std::string& commands) {
  const std::string path = absl::StrCat(dir, "/", ns.name(), ".ip");
  if (absl::Status s = WriteFile(path, commands); !s.ok()) return s;
  return MustRun({"ip", "-n", ns.name(), "-batch", path}, nullptr).status();
}

absl::Status WriteSysctl(const Netns& ns, const std::string& key, const std::string& value) {
  return MustRun({"sysctl", "-q", "-w", absl::StrCat(key, "=", value)}, &ns).status();
}

}  // namespace ferry::bench
