#include "api/observability/webhook.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/lib/log.h"
#include "api/security/join_token.h"

namespace ferry::observability {
namespace {

constexpr char kField[] = "--alert-webhook";
constexpr char kCaField[] = "--alert-webhook-ca";
// A secret is a line of text; anything bigger is the wrong file.
constexpr size_t kMaxSecretBytes = size_t{64} * 1024;
constexpr absl::string_view kJson = "application/json";

class RealSleeper : public Sleeper {
 public:
  void SleepFor(absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&woken_), d);
  }
  void Wake() override {
    absl::MutexLock lock(&mu_);
    woken_ = true;
  }

 private:
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
};

std::function<double()> RandomJitter() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  auto mu = std::make_shared<absl::Mutex>();
  return [engine, mu] {
    absl::MutexLock lock(mu.get());
    return std::uniform_real_distribution<double>(0, 1)(*engine);
  };
}

// A 4xx other than 408/429 means the request itself is wrong: repeating it
// cannot help.
bool IsPermanent(int status) {
  return status >= 400 && status < 500 && status != 408 && status != 429;
}

}  // namespace

std::string WebhookSignature(absl::string_view secret, int64_t unix_seconds,
                             absl::string_view body) {
  return absl::StrCat("sha256=",
                      security::HmacSha256Hex(secret, absl::StrCat(unix_seconds, ".", body)));
}

absl::StatusOr<std::string> ReadWebhookSecretFile(const std::string& path,
                                                  absl::string_view field) {
  struct stat st = {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", path, ": not a readable file"));
  }
  if (static_cast<size_t>(st.st_size) > kMaxSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", path, ": ", st.st_size, " bytes; a secret is one line"));
  }
  std::ifstream in(path, std::ios::binary);
  std::string secret(std::istreambuf_iterator<char>(in), {});
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", path, ": cannot read the file"));
  }
  absl::StripTrailingAsciiWhitespace(&secret);
  if (secret.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", path, ": the file is empty; put the shared secret in it"));
  }
  if ((st.st_mode & 077) != 0) {
    LogWarning("webhook secret file is readable by other users; chmod 600 it",
               {{"path", path}, {"mode", absl::StrFormat("%04o", st.st_mode & 07777)}});
  }
  return secret;
}

std::unique_ptr<Sleeper> NewRealSleeper() { return std::make_unique<RealSleeper>(); }

absl::Duration WebhookBackoff(int failed_attempts, const WebhookOptions& options, double jitter) {
  absl::Duration delay = options.initial_backoff;
  for (int i = 1; i < failed_attempts && delay < options.max_backoff; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, options.max_backoff);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return delay * (0.5 + 0.5 * jitter);
}

WebhookNotifier::WebhookNotifier(std::vector<std::string> urls, WebhookOptions options)
    : urls_(std::move(urls)), options_(std::move(options)) {
  if (options_.sleeper == nullptr) {
    owned_sleeper_ = NewRealSleeper();
    options_.sleeper = owned_sleeper_.get();
  }
  sleeper_ = options_.sleeper;
  if (!options_.jitter) options_.jitter = RandomJitter();
  if (!options_.post) {
    options_.post = [this](const HttpUrl& url, const HttpPostRequest& request,
                           absl::Duration timeout, int cancel_fd) {
      return HttpPost(url, request, tls_.get(), timeout, cancel_fd);
    };
  }
  if (!options_.now) options_.now = [] { return absl::Now(); };
  options_.max_queue = std::max<size_t>(options_.max_queue, 1);
  options_.max_attempts = std::max(options_.max_attempts, 1);
}

WebhookNotifier::~WebhookNotifier() { Stop(absl::ZeroDuration()); }

absl::Status WebhookNotifier::Start() {
  if (started_.load()) {
    return absl::FailedPreconditionError("webhook notifier already started");
  }
  std::vector<std::unique_ptr<Target>> targets;
  bool any_https = false;
  for (const std::string& url : urls_) {
    absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url, kField);
    if (!parsed.ok()) return parsed.status();
    any_https = any_https || parsed->https;
    targets.push_back(std::make_unique<Target>());
    targets.back()->url = *std::move(parsed);
  }
  if (any_https || !options_.ca_file.empty()) {
    absl::StatusOr<std::unique_ptr<TlsClientContext>> tls =
        TlsClientContext::Create(options_.ca_file, kCaField);
    if (!tls.ok()) return tls.status();
    tls_ = *std::move(tls);
  }
  if (absl::Status s = cancel_.Open(); !s.ok()) return s;
  targets_ = std::move(targets);
  for (auto& target : targets_) {
    Target* t = target.get();
    t->worker = std::thread([this, t] { Run(t); });
  }
  started_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

void WebhookNotifier::Notify(std::string json_body) {
  if (!started_.load(std::memory_order_acquire)) {
    dropped_ += urls_.size();
    return;
  }
  for (size_t i = 0; i < targets_.size(); ++i) {
    Target* target = targets_[i].get();
    absl::MutexLock lock(&target->mu);
    if (target->stopping) {
      ++dropped_;
      continue;
    }
    if (target->queue.size() >= options_.max_queue) {
      target->queue.pop_front();
      ++dropped_;
    }
    // The last queue can take the caller's copy.
    if (i + 1 == targets_.size()) {
      target->queue.push_back(std::move(json_body));
      break;
    }
    target->queue.push_back(json_body);
  }
}

void WebhookNotifier::Stop(absl::Duration drain_deadline) {
  if (!started_.load() || stopped_.exchange(true)) return;
  for (auto& target : targets_) {
    absl::MutexLock lock(&target->mu);
    target->stopping = true;
  }
  const absl::Time deadline = absl::Now() + drain_deadline;
  bool all_done = true;
  for (auto& target : targets_) {
    Target* t = target.get();
    auto is_done = [t]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(t->mu) { return t->done; };
    bool done = t->mu.LockWhenWithDeadline(absl::Condition(&is_done), deadline);
    t->mu.Unlock();
    all_done = all_done && done;
  }
  if (!all_done) {
    // Cut in-flight posts and backoff waits short; workers count the rest.
    for (auto& target : targets_) {
      absl::MutexLock lock(&target->mu);
      target->abort = true;
    }
    cancel_.Signal();
    sleeper_->Wake();
  }
  for (auto& target : targets_) target->worker.join();
  LogInfo("webhook notifier stopped", {{"delivered", absl::StrCat(delivered_.load())},
                                       {"failed", absl::StrCat(failed_.load())},
                                       {"dropped", absl::StrCat(dropped_.load())},
                                       {"abandoned", absl::StrCat(abandoned_.load())}});
}

WebhookStats WebhookNotifier::Stats() const {
  WebhookStats stats;
  stats.delivered = delivered_.load();
  stats.failed = failed_.load();
  stats.dropped = dropped_.load();
  stats.abandoned = abandoned_.load();
  return stats;
}

void WebhookNotifier::Run(Target* target) {
  for (;;) {
    std::string body;
    {
      absl::MutexLock lock(&target->mu);
      auto has_work = [target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(target->mu) {
        return !target->queue.empty() || target->stopping || target->abort;
      };
      target->mu.Await(absl::Condition(&has_work));
      if (target->abort || target->queue.empty()) {
        abandoned_ += target->queue.size();
        target->queue.clear();
        target->done = true;
        return;
      }
      body = std::move(target->queue.front());
      target->queue.pop_front();
    }
    if (!Deliver(target, body)) ++abandoned_;
  }
}

bool WebhookNotifier::Aborted(Target* target) {
  absl::MutexLock lock(&target->mu);
  return target->abort;
}

bool WebhookNotifier::Deliver(Target* target, const std::string& body) {
  const HttpUrl& url = target->url;
  for (int attempt = 1;; ++attempt) {
    if (Aborted(target)) return false;
    HttpPostRequest request;
    request.content_type = kJson;
    request.body = body;
    if (!options_.secret.empty()) {
      // Per attempt: a retry after a long backoff is not mistaken for a
      // replay by a receiver that checks the timestamp's age.
      int64_t now = absl::ToUnixSeconds(options_.now());
      request.headers = {{kWebhookTimestampHeader, absl::StrCat(now)},
                         {kWebhookSignatureHeader, WebhookSignature(options_.secret, now, body)}};
    }
    absl::StatusOr<int> status = options_.post(url, request, options_.timeout, cancel_.read_fd());
    if (status.ok() && *status >= 200 && *status < 300) {
      ++delivered_;
      return true;
    }
    if (absl::IsCancelled(status.status())) return false;
    std::string error = status.ok() ? absl::StrCat("HTTP ", *status) : status.status().ToString();
    bool permanent = status.ok() && IsPermanent(*status);
    if (permanent || attempt >= options_.max_attempts) {
      ++failed_;
      LogError("webhook gave up on an alert",
               {{"url", url.text}, {"attempts", absl::StrCat(attempt)}, {"error", error}});
      return true;
    }
    absl::Duration wait = WebhookBackoff(attempt, options_, options_.jitter());
    LogDebug("webhook post failed; retrying", {{"url", url.text},
                                               {"attempt", absl::StrCat(attempt)},
                                               {"error", error},
                                               {"retry_in", absl::FormatDuration(wait)}});
    sleeper_->SleepFor(wait);
  }
}

}  // namespace ferry::observability
