#ifndef FERRY_TESTS_NETNS_NETNS_FIXTURE_H_
#define FERRY_TESTS_NETNS_NETNS_FIXTURE_H_

// A fresh network namespace per test, entered on the test thread, so the
// backends' sockets and /proc/sys writes never touch the root namespace.
// Tests may run `nft` / `ip` inside it to set up and to inspect.

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ferry::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with sh and captures its output.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root: creates network namespaces";
    }
    static std::atomic<int> counter{0};
    name_ = absl::StrCat("fx-kern-", getpid(), "-", counter++);
    CommandResult add = RunCommand(absl::StrCat("ip netns add ", name_));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    created_ = true;
    original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(original_, 0);
    const int target = open(absl::StrCat("/run/netns/", name_).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(target, 0);
    const int rc = setns(target, CLONE_NEWNET);
    close(target);
    ASSERT_EQ(rc, 0) << "setns into " << name_;
    entered_ = true;
  }

  void TearDown() override {
    if (entered_) {
      EXPECT_EQ(setns(original_, CLONE_NEWNET), 0) << "setns back";
    }
    if (original_ >= 0) close(original_);
    if (created_) RunCommand(absl::StrCat("ip netns del ", name_));
  }

  // Runs `command` inside the namespace (e.g. "nft list table inet ferry").
  CommandResult InNetns(const std::string& command) const {
    return RunCommand(absl::StrCat("ip netns exec ", name_, " ", command));
  }

  // Like InNetns, failing the test on a non-zero exit.
  std::string MustInNetns(const std::string& command) const {
    CommandResult r = InNetns(command);
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.output;
    return r.output;
  }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool created_ = false;
  bool entered_ = false;
  int original_ = -1;
};

}  // namespace ferry::testing

#endif  // FERRY_TESTS_NETNS_NETNS_FIXTURE_H_
