#ifndef FERRY_NODE_AGENT_PROBE_SOCKET_PROBER_H_
#define FERRY_NODE_AGENT_PROBE_SOCKET_PROBER_H_

// The Prober that opens real sockets: each probe is a non-blocking socket
// marked kProbeMark (SO_MARK, which needs CAP_NET_ADMIN), bound to the
// frontend address and connected to frontend:port, so table inet ferry's
// output chain DNATs it through the forward's own element (see README.md).
// TCP waits for the handshake and closes with an RST (SO_LINGER 0: no
// TIME_WAIT on either end); UDP sends one empty datagram and waits for any
// reply or an ICMP error. One thread runs every probe in one epoll loop,
// so many run at once without a thread each; the scheduler bounds how
// many.

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node-agent/probe/prober.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// How a probe ended, as a result with its message (pure, so the messages
// are unit-tested without sockets).
enum class ProbeEnd : uint8_t {
  kConnected,  // TCP: the handshake completed
  kReplied,    // UDP: a datagram came back
  kTimedOut,   // nothing within the timeout
};
ProbeResult ResultOf(const ProbeTarget& target, ProbeEnd end);
// The probe's packets met error `err` (from connect, send, the reply or
// an ICMP error): False, naming it.
ProbeResult ResultOfError(const ProbeTarget& target, int err);
// The probe could not be set up (`step` failed with `err`): Unknown, since
// nothing was learnt about the data path.
ProbeResult ResultOfSetupError(const ProbeTarget& target, absl::string_view step, int err);

class SocketProber : public Prober {
 public:
  struct Options {
    uint32_t mark = kProbeMark;
    // Probes waiting for the thread; more are answered Unknown at once.
    size_t max_queued = 1024;
  };

  explicit SocketProber(Options options);
  SocketProber() : SocketProber(Options{}) {}
  ~SocketProber() override;

  SocketProber(const SocketProber&) = delete;
  SocketProber& operator=(const SocketProber&) = delete;

  // Opens the epoll instance and starts the thread. The probes' sockets are
  // made on that thread, so in the calling thread's network namespace.
  absl::Status Start();
  // Joins the thread and closes every probe's socket; their `done`s are
  // not called. Probe() then answers Unknown at once. Idempotent.
  void Stop();

  void Probe(const ProbeTarget& target, Done done) override;

  // Probes whose sockets are open (the thread's own count, for tests).
  size_t open_sockets() const;

 private:
  struct Request {
    ProbeTarget target;
    Done done;
  };
  struct Active {
    ProbeTarget target;
    Done done;
    std::multimap<absl::Time, int>::iterator timer;
  };

  void Loop();
  // Opens the probe's socket and sends its first packet; a probe that ends
  // at once calls its `done` here.
  void Launch(Request request);
  void OnEvent(int fd, uint32_t events);
  // Closes the probe's socket, then calls its `done`.
  void Finish(int fd, ProbeResult result);

  const Options options_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: queued probes, or stop
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::deque<Request> queue_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;

  // The thread's own (and Stop's, once it is joined).
  std::unordered_map<int, Active> active_;
  std::multimap<absl::Time, int> timers_;  // deadline -> socket
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_PROBE_SOCKET_PROBER_H_
