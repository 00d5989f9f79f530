#ifndef FERRY_API_OBSERVABILITY_WEBHOOK_H_
#define FERRY_API_OBSERVABILITY_WEBHOOK_H_

// Delivers JSON alerts (drift, repair, failure events) to --alert-webhook
// URLs. Notify() never blocks the caller: each URL has its own bounded
// queue (oldest dropped when full) and its own worker thread, so one dead
// receiver cannot delay alerts to the others. Failed posts are retried with
// exponential backoff and jitter, then given up on and logged.
//
// https URLs are preferred: the receiver's certificate is verified against
// the system's trust store, or only against WebhookOptions::ca_file when
// set, and must name the URL's host. http stays allowed for receivers on
// the same host or a trusted network.
//
// Signatures. When WebhookOptions::secret is set, every POST (each retry
// too) carries
//   X-Ferry-Timestamp: <unix seconds when this attempt was made>
//   X-Ferry-Signature: sha256=<lower-case hex HMAC-SHA256>
// where the HMAC's key is the secret and its message is the timestamp
// header's value, a '.', then the exact body bytes: "1700000000.{...}".
// A receiver recomputes it over the raw body it read, compares in constant
// time, and rejects a timestamp more than a few minutes from its own clock;
// covering the timestamp means a captured request cannot be replayed later
// with a fresh timestamp.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/observability/http_client.h"
#include "api/observability/socket_util.h"

namespace ferry::observability {

// Waits between retries. Injected so tests run the backoff schedule without
// real waits.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Returns after `d`, or at once after Wake() (which is sticky: Stop()
  // uses it to abandon every remaining wait).
  virtual void SleepFor(absl::Duration d) = 0;
  virtual void Wake() = 0;
};

std::unique_ptr<Sleeper> NewRealSleeper();

// The transport, injectable for tests; defaults to HttpPost (with the
// notifier's TLS context for https URLs).
using HttpPostFn = std::function<absl::StatusOr<int>(
    const HttpUrl& url, const HttpPostRequest& request, absl::Duration timeout, int cancel_fd)>;

inline constexpr char kWebhookSignatureHeader[] = "X-Ferry-Signature";
inline constexpr char kWebhookTimestampHeader[] = "X-Ferry-Timestamp";

// The X-Ferry-Signature value: "sha256=" + hex HMAC-SHA256 under `secret`
// of "<unix_seconds>.<body>".
std::string WebhookSignature(absl::string_view secret, int64_t unix_seconds,
                             absl::string_view body);

// Reads a webhook secret from `path` (the --alert-webhook-secret-file
// flag, named by `field` in errors). Trailing whitespace, such as the
// newline an editor or `echo` adds, is not part of the secret. An empty or
// unreadable file is INVALID_ARGUMENT. Warns if others may read the file.
absl::StatusOr<std::string> ReadWebhookSecretFile(const std::string& path, absl::string_view field);

struct WebhookOptions {
  size_t max_queue = 1000;  // per URL
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(30);
  int max_attempts = 8;
  absl::Duration timeout = absl::Seconds(5);  // per attempt
  Sleeper* sleeper = nullptr;                 // not owned; default: a real sleeper
  std::function<double()> jitter;             // in [0, 1]; default: uniform random
  HttpPostFn post;                            // default: HttpPost
  // Signs every POST when non-empty (see the top of this file).
  std::string secret;
  // PEM CAs that alone are trusted for https URLs; empty: the system's.
  std::string ca_file;
  std::function<absl::Time()> now;  // default: absl::Now; for timestamps
};

// Counts over all URLs since construction, for metrics.
struct WebhookStats {
  uint64_t delivered = 0;  // 2xx received
  uint64_t failed = 0;     // given up after retries or a permanent 4xx
  uint64_t dropped = 0;    // pushed out of a full queue, or sent after Stop
  uint64_t abandoned = 0;  // still queued or in flight when Stop() expired
};

// The wait after `failed_attempts` failures: initial * 2^(n-1), capped at
// max_backoff, then scaled into [50%, 100%] by `jitter` in [0, 1].
absl::Duration WebhookBackoff(int failed_attempts, const WebhookOptions& options, double jitter);

class WebhookNotifier {
 public:
  explicit WebhookNotifier(std::vector<std::string> urls, WebhookOptions options = {});
  ~WebhookNotifier();  // Stop(ZeroDuration()) if still running.
  WebhookNotifier(const WebhookNotifier&) = delete;
  WebhookNotifier& operator=(const WebhookNotifier&) = delete;

  // Validates every URL (INVALID_ARGUMENT naming --alert-webhook and the
  // URL), loads the TLS trust store if a URL is https or ca_file is set
  // (errors name --alert-webhook-ca), and starts one worker per URL.
  // Nothing is started on error.
  absl::Status Start();

  // Queues `json_body` for every URL. Never blocks on the network.
  void Notify(std::string json_body);

  // Delivers what is queued until `drain_deadline` has passed, then cuts
  // in-flight posts and waits short, and joins the workers.
  void Stop(absl::Duration drain_deadline);

  WebhookStats Stats() const;

 private:
  struct Target {
    HttpUrl url;
    std::thread worker;
    absl::Mutex mu;
    std::deque<std::string> queue ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    bool abort ABSL_GUARDED_BY(mu) = false;
    bool done ABSL_GUARDED_BY(mu) = false;
  };
  void Run(Target* target);
  // Posts one body with retries. False if abandoned because of Stop().
  bool Deliver(Target* target, const std::string& body);
  bool Aborted(Target* target);

  const std::vector<std::string> urls_;
  WebhookOptions options_;
  std::unique_ptr<Sleeper> owned_sleeper_;
  Sleeper* sleeper_ = nullptr;
  // Set by Start() before any worker runs; read-only afterwards.
  std::unique_ptr<TlsClientContext> tls_;
  CancelPipe cancel_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};

  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> abandoned_{0};
};

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_WEBHOOK_H_
