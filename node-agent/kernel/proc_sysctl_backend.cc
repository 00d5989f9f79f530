#include "node-agent/kernel/proc_sysctl_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node-agent/kernel/errno_status.h"

namespace ferry::agent {
namespace {

constexpr size_t kMaxValueBytes = 4096;

absl::Status ValidateKey(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.back() == '/' || absl::StrContains(key, "..") ||
      absl::StrContains(key, "//")) {
    return absl::InvalidArgumentError(
        absl::StrCat("sysctl key \"", key, "\": want a relative path like net/ipv4/ip_forward"));
  }
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '/' ||
                    c == '.' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("sysctl key \"", key, "\": character '",
                                                     std::string(1, c),
                                                     "' not allowed (only [a-z0-9_/.-])"));
    }
  }
  return absl::OkStatus();
}

// Closes the descriptor on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::string> ProcSysctlBackend::Read(const std::string& key) {
  if (absl::Status s = ValidateKey(key); !s.ok()) return s;
  const std::string path = absl::StrCat(root_, "/", key);
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoToStatus(errno, absl::StrCat("reading sysctl ", key));
  std::string value(kMaxValueBytes, '\0');
  const ssize_t n = read(fd.get(), value.data(), value.size());
  if (n < 0) return ErrnoToStatus(errno, absl::StrCat("reading sysctl ", key));
  value.resize(n);
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) {
    value.pop_back();
  }
  return value;
}

absl::Status ProcSysctlBackend::Write(const std::string& key, const std::string& value) {
  if (absl::Status s = ValidateKey(key); !s.ok()) return s;
  const std::string what = absl::StrCat("writing sysctl ", key, "=", value);
  const std::string path = absl::StrCat(root_, "/", key);
  Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoToStatus(errno, what);
  const std::string line = absl::StrCat(value, "\n");
  const ssize_t n = write(fd.get(), line.data(), line.size());
  if (n < 0) return ErrnoToStatus(errno, what);
  if (static_cast<size_t>(n) != line.size()) {
    return absl::InternalError(absl::StrCat(what, ": short write"));
  }
  return absl::OkStatus();
}

}  // namespace ferry::agent
