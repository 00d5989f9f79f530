#ifndef FERRY_TESTS_BENCH_CONN_LOAD_H_
#define FERRY_TESTS_BENCH_CONN_LOAD_H_

// The two ends of the data path benchmark: a tiny HTTP server that answers
// one request per connection, and a load generator that opens connections
// as fast as it can (non-blocking, a bounded number in flight).

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "tests/bench/bench_netns.h"

namespace ferry::bench {

class TinyHttpServer {
 public:
  // Listens on 0.0.0.0:`port` in `ns` and serves on its own thread.
  static absl::StatusOr<std::unique_ptr<TinyHttpServer>> Start(const Netns& ns, uint16_t port);
  ~TinyHttpServer();  // stops and joins

  TinyHttpServer(const TinyHttpServer&) = delete;
  TinyHttpServer& operator=(const TinyHttpServer&) = delete;

 private:
  TinyHttpServer(int listen_fd, int stop_fd);
  void Run();

  const int listen_fd_;
  const int stop_fd_;  // eventfd: wakes Run to return
  std::thread thread_;
};

struct LoadResult {
  int64_t completed = 0;  // full request/response exchanges
  int64_t failed = 0;     // refused, reset, timed out or short answers
  double seconds = 0;
  double rate() const { return seconds > 0 ? completed / seconds : 0; }
};

// From `threads` threads inside `client_ns`, each keeping `in_flight`
// connections open, repeatedly: connect to `target`, send a GET, read the
// whole answer, close with a reset (no TIME_WAIT, so ports recycle).
// Returns after `seconds`; connections still open then are not counted.
LoadResult RunConnectionLoad(const Netns& client_ns, const sockaddr_in& target, int threads,
                             int in_flight, double seconds);

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_CONN_LOAD_H_
