#ifndef FERRY_API_OBSERVABILITY_SOCKET_UTIL_H_
#define FERRY_API_OBSERVABILITY_SOCKET_UTIL_H_

// Plain-TCP helpers shared by the HTTP server and the webhook client: an
// owning fd, "host:port" parsing, and poll()-based I/O that is bounded by a
// deadline and can be cut short by a cancel pipe (so Stop() never waits for
// a slow peer).

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/lib/errno_status.h"

namespace ferry::observability {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A pipe whose read end becomes readable, for good, once Signal() is called.
// Any number of poll() loops can watch read_fd() to learn "stop now".
class CancelPipe {
 public:
  absl::Status Open();
  void Signal();
  int read_fd() const { return read_.get(); }

 private:
  UniqueFd read_;
  UniqueFd write_;
};

struct HostPort {
  std::string host;  // without brackets; empty means "any address"
  int port = 0;
};

// Accepts "host:port", "[v6]:port" and ":port". Errors name `field`.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view address, absl::string_view field);

// "127.0.0.1:80" or "[::1]:80" for logs and Host headers.
std::string FormatHostPort(absl::string_view host, int port);

// Waits for `events` (POLLIN/POLLOUT) on fd. DEADLINE_EXCEEDED at the
// deadline, CANCELLED once `cancel_fd` (if >= 0) is readable.
absl::Status WaitFd(int fd, short events, absl::Time deadline, int cancel_fd);

// Writes all of `data` to a non-blocking socket.
absl::Status SendAll(int fd, absl::string_view data, absl::Time deadline, int cancel_fd);

// Reads whatever is available (at least one byte, or 0 on EOF) into `out`,
// up to `max_bytes`. Returns the byte count.
absl::StatusOr<size_t> ReceiveSome(int fd, std::string* out, size_t max_bytes, absl::Time deadline,
                                   int cancel_fd);

absl::Status SetNonBlocking(int fd);

// errno as a Status naming the failed operation (api/lib/errno_status.h).
using api::ErrnoStatus;

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_SOCKET_UTIL_H_
