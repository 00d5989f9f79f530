#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "api/observability/socket_util.h"
#include "api/observability/webhook.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::observability {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kWaitBound = absl::Seconds(5);

struct ReceivedPost {
  std::string request_line;
  std::string content_type;
  std::string body;
};

// A loopback HTTP receiver that answers each request with the next scripted
// status (200 once the script runs out). One connection at a time is enough
// for a single notifier worker per URL.
class Receiver {
 public:
  explicit Receiver(std::deque<int> script = {}) : script_(std::move(script)) {
    listen_.Reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(listen(listen_.get(), 16), 0);
    getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    EXPECT_TRUE(stop_.Open().ok());
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stop_.Signal();
    thread_.join();
  }

  std::string Url(const std::string& host = "127.0.0.1") const {
    return absl::StrCat("http://", host, ":", port_, "/hook");
  }

  // Waits (bounded) until `n` posts arrived; returns what arrived.
  std::vector<ReceivedPost> WaitForPosts(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return posts_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kWaitBound);
    return posts_;
  }

 private:
  void Serve() {
    for (;;) {
      if (!WaitFd(listen_.get(), POLLIN, absl::InfiniteFuture(), stop_.read_fd()).ok()) {
        return;
      }
      UniqueFd conn(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) continue;
      SetNonBlocking(conn.get()).IgnoreError();
      HandleOne(conn.get());
    }
  }

  void HandleOne(int fd) {
    const absl::Time deadline = absl::Now() + kWaitBound;
    std::string data;
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    while (header_end == std::string::npos || data.size() < header_end + 4 + content_length) {
      absl::StatusOr<size_t> n = ReceiveSome(fd, &data, 64 * 1024, deadline, stop_.read_fd());
      if (!n.ok() || *n == 0) return;
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          content_length = HeaderValue(data, header_end, "content-length").empty()
                               ? 0
                               : std::stoul(HeaderValue(data, header_end, "content-length"));
        }
      }
    }
    ReceivedPost post;
    post.request_line = data.substr(0, data.find("\r\n"));
    post.content_type = HeaderValue(data, header_end, "content-type");
    post.body = data.substr(header_end + 4, content_length);
    int status = 200;
    {
      absl::MutexLock lock(&mu_);
      if (!script_.empty()) {
        status = script_.front();
        script_.pop_front();
      }
      posts_.push_back(std::move(post));
    }
    SendAll(fd,
            absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: 0\r\n",
                         "Connection: close\r\n\r\n"),
            deadline, stop_.read_fd())
        .IgnoreError();
  }

  static std::string HeaderValue(const std::string& data, size_t header_end,
                                 const std::string& lower_name) {
    std::string headers = absl::AsciiStrToLower(data.substr(0, header_end));
    size_t at = headers.find("\r\n" + lower_name + ":");
    if (at == std::string::npos) return "";
    size_t start = at + lower_name.size() + 3;
    size_t end = data.find("\r\n", start);
    return std::string(absl::StripAsciiWhitespace(
        data.substr(start, end == std::string::npos ? end : end - start)));
  }

  UniqueFd listen_;
  CancelPipe stop_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::deque<int> script_ ABSL_GUARDED_BY(mu_);
  std::vector<ReceivedPost> posts_ ABSL_GUARDED_BY(mu_);
};

// Records requested waits and returns at once.
class RecordingSleeper : public Sleeper {
 public:
  void SleepFor(absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    sleeps_.push_back(d);
  }
  void Wake() override {}
  std::vector<absl::Duration> sleeps() {
    absl::MutexLock lock(&mu_);
    return sleeps_;
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::Duration> sleeps_ ABSL_GUARDED_BY(mu_);
};

WebhookOptions FastOptions(Sleeper* sleeper) {
  WebhookOptions options;
  options.sleeper = sleeper;
  options.jitter = [] { return 1.0; };  // no jitter: the full backoff
  options.timeout = kWaitBound;
  return options;
}

TEST(WebhookNotifierTest, DeliversTheJsonBodyToEveryUrl) {
  Receiver first;
  Receiver second;
  RecordingSleeper sleeper;
  WebhookNotifier notifier({first.Url(), second.Url()}, FastOptions(&sleeper));
  ASSERT_TRUE(notifier.Start().ok());

  const std::string body = R"({"reason":"DriftDetected","node":"node-a"})";
  notifier.Notify(body);

  for (Receiver* receiver : {&first, &second}) {
    std::vector<ReceivedPost> posts = receiver->WaitForPosts(1);
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0].request_line, "POST /hook HTTP/1.1");
    EXPECT_EQ(posts[0].content_type, "application/json");
    EXPECT_EQ(posts[0].body, body);
  }
  notifier.Stop(kWaitBound);
  EXPECT_EQ(notifier.Stats().delivered, 2u);
}

TEST(WebhookNotifierTest, ResolvesHostnames) {
  Receiver receiver;
  RecordingSleeper sleeper;
  WebhookNotifier notifier({receiver.Url("localhost")}, FastOptions(&sleeper));
  ASSERT_TRUE(notifier.Start().ok());

  notifier.Notify("{}");

  EXPECT_EQ(receiver.WaitForPosts(1).size(), 1u);
}

TEST(WebhookNotifierTest, RetriesAServerErrorAfterBackoffUntilSuccess) {
  Receiver receiver({500, 200});
  RecordingSleeper sleeper;
  WebhookNotifier notifier({receiver.Url()}, FastOptions(&sleeper));
  ASSERT_TRUE(notifier.Start().ok());

  notifier.Notify(R"({"reason":"ApplyFailed"})");

  std::vector<ReceivedPost> posts = receiver.WaitForPosts(2);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[1].body, posts[0].body);
  notifier.Stop(kWaitBound);
  EXPECT_EQ(notifier.Stats().delivered, 1u);
  EXPECT_EQ(notifier.Stats().failed, 0u);
  EXPECT_THAT(sleeper.sleeps(), ElementsAre(absl::Milliseconds(200)));
}

TEST(WebhookNotifierTest, GivesUpAfterMaxAttempts) {
  RecordingSleeper sleeper;
  WebhookOptions options = FastOptions(&sleeper);
  options.max_attempts = 3;
  int attempts = 0;
  options.post = [&](const HttpUrl&, const HttpPostRequest&, absl::Duration,
                     int) -> absl::StatusOr<int> {
    ++attempts;
    return 503;
  };
  WebhookNotifier notifier({"http://127.0.0.1:9/hook"}, options);
  ASSERT_TRUE(notifier.Start().ok());

  notifier.Notify("{}");
  notifier.Stop(kWaitBound);

  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(notifier.Stats().failed, 1u);
  EXPECT_THAT(sleeper.sleeps(), ElementsAre(absl::Milliseconds(200), absl::Milliseconds(400)));
}

TEST(WebhookNotifierTest, DoesNotRetryAPermanentClientError) {
  Receiver receiver({400});
  RecordingSleeper sleeper;
  WebhookNotifier notifier({receiver.Url()}, FastOptions(&sleeper));
  ASSERT_TRUE(notifier.Start().ok());

  notifier.Notify("{}");
  notifier.Stop(kWaitBound);

  EXPECT_EQ(receiver.WaitForPosts(1).size(), 1u);
  EXPECT_EQ(notifier.Stats().failed, 1u);
  EXPECT_TRUE(sleeper.sleeps().empty());
}

TEST(WebhookNotifierTest, StopDeliversWhatIsQueuedBeforeTheDeadline) {
  Receiver receiver;
  RecordingSleeper sleeper;
  WebhookNotifier notifier({receiver.Url()}, FastOptions(&sleeper));
  ASSERT_TRUE(notifier.Start().ok());

  for (int i = 0; i < 3; ++i) notifier.Notify(absl::StrCat("{\"n\":", i, "}"));
  notifier.Stop(kWaitBound);

  EXPECT_EQ(notifier.Stats().delivered, 3u);
  std::vector<ReceivedPost> posts = receiver.WaitForPosts(3);
  ASSERT_EQ(posts.size(), 3u);
  EXPECT_EQ(posts[2].body, "{\"n\":2}");
}

TEST(WebhookNotifierTest, NotifyNeverBlocksWhenTheReceiverHangs) {
  // Listens but never accepts: connect succeeds, the answer never comes.
  UniqueFd hung(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(hung.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(hung.get(), 16), 0);
  getsockname(hung.get(), reinterpret_cast<sockaddr*>(&addr), &len);

  RecordingSleeper sleeper;
  WebhookOptions options = FastOptions(&sleeper);
  options.max_queue = 4;
  options.timeout = absl::Seconds(30);
  WebhookNotifier notifier({absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/hook")},
                           options);
  ASSERT_TRUE(notifier.Start().ok());

  constexpr int kAlerts = 100;
  absl::Time start = absl::Now();
  for (int i = 0; i < kAlerts; ++i) notifier.Notify("{}");
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));

  // At most one is in flight and four are queued; the rest were dropped.
  EXPECT_GE(notifier.Stats().dropped, kAlerts - 5u);
  EXPECT_LE(notifier.Stats().dropped, kAlerts - 4u);

  // Stop cuts the hung post short instead of waiting its 30 s timeout.
  start = absl::Now();
  notifier.Stop(absl::Milliseconds(50));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  WebhookStats stats = notifier.Stats();
  EXPECT_EQ(stats.dropped + stats.abandoned, static_cast<uint64_t>(kAlerts));
}

TEST(WebhookNotifierTest, StartRejectsANonHttpUrlNamingTheFlag) {
  WebhookNotifier notifier({"ftp://alerts.example/hook"});
  absl::Status status = notifier.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--alert-webhook"));
  EXPECT_THAT(status.message(), HasSubstr("ftp://alerts.example/hook"));
  EXPECT_THAT(status.message(), HasSubstr("https://"));
}

TEST(WebhookNotifierTest, StartRejectsAUrlWithAControlCharacterNamingIt) {
  WebhookNotifier notifier({"http://127.0.0.1:9/ok", "http://h/x\r\nX-Injected: 1"});
  absl::Status status = notifier.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // Escaped, so the refusal itself cannot split a log line.
  EXPECT_THAT(status.message(), HasSubstr("http://h/x\\r\\nX-Injected: 1"));
  EXPECT_THAT(status.message(), HasSubstr("control character"));
}

TEST(WebhookNotifierTest, StartRejectsAMissingCaFileNamingTheFlag) {
  WebhookOptions options;
  options.ca_file = "/nonexistent/ferry-ca.pem";
  WebhookNotifier notifier({"https://alerts.example/hook"}, options);
  absl::Status status = notifier.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--alert-webhook-ca"));
  EXPECT_THAT(status.message(), HasSubstr("/nonexistent/ferry-ca.pem"));
}

TEST(WebhookBackoffTest, DoublesFromInitialAndCapsAtMax) {
  WebhookOptions options;
  options.initial_backoff = absl::Milliseconds(200);
  options.max_backoff = absl::Seconds(1);
  EXPECT_EQ(WebhookBackoff(1, options, 1.0), absl::Milliseconds(200));
  EXPECT_EQ(WebhookBackoff(2, options, 1.0), absl::Milliseconds(400));
  EXPECT_EQ(WebhookBackoff(3, options, 1.0), absl::Milliseconds(800));
  EXPECT_EQ(WebhookBackoff(4, options, 1.0), absl::Seconds(1));
  EXPECT_EQ(WebhookBackoff(60, options, 1.0), absl::Seconds(1));
}

TEST(WebhookBackoffTest, JitterScalesIntoTheUpperHalf) {
  WebhookOptions options;
  options.initial_backoff = absl::Milliseconds(200);
  EXPECT_EQ(WebhookBackoff(1, options, 0.0), absl::Milliseconds(100));
  EXPECT_EQ(WebhookBackoff(1, options, 0.5), absl::Milliseconds(150));
}

}  // namespace
}  // namespace ferry::observability
