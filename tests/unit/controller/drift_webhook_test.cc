// Drift events reach --alert-webhook receivers as JSON, wired as the
// controller's main wires them: FleetReconciler on_event -> WebhookNotifier.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "api/observability/metrics.h"
#include "api/observability/socket_util.h"
#include "api/observability/webhook.h"
#include "controller/fleet/event_recorder.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/fleet/fleet_reconciler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using observability::CancelPipe;
using observability::ReceiveSome;
using observability::SendAll;
using observability::SetNonBlocking;
using observability::UniqueFd;
using observability::WaitFd;

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr absl::Duration kWaitBound = absl::Seconds(10);

// Accepts POSTs on 127.0.0.1, answers 200 and keeps each body.
class LoopbackReceiver {
 public:
  LoopbackReceiver() {
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
  ~LoopbackReceiver() {
    stop_.Signal();
    thread_.join();
  }

  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_, "/alerts"); }

  // Waits (bounded) for a body containing `needle`; returns every body.
  std::vector<std::string> WaitForBodyWith(const std::string& needle) {
    absl::MutexLock l(&mu_);
    auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const std::string& b : bodies_) {
        if (b.find(needle) != std::string::npos) return true;
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&found), kWaitBound);
    return bodies_;
  }

 private:
  void Serve() {
    while (WaitFd(listen_.get(), POLLIN, absl::InfiniteFuture(), stop_.read_fd()).ok()) {
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
    size_t length = 0;
    while (header_end == std::string::npos || data.size() < header_end + 4 + length) {
      absl::StatusOr<size_t> n = ReceiveSome(fd, &data, 64 * 1024, deadline, stop_.read_fd());
      if (!n.ok() || *n == 0) return;
      if (header_end != std::string::npos) continue;
      header_end = data.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      std::string headers = absl::AsciiStrToLower(data.substr(0, header_end));
      size_t at = headers.find("\r\ncontent-length:");
      if (at != std::string::npos) {
        size_t start = at + 17;
        std::string value = headers.substr(start, headers.find("\r\n", start) - start);
        if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &length)) length = 0;
      }
    }
    {
      absl::MutexLock l(&mu_);
      bodies_.push_back(data.substr(header_end + 4, length));
    }
    SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", deadline,
            stop_.read_fd())
        .IgnoreError();
  }

  UniqueFd listen_;
  CancelPipe stop_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
};

class NullPushSink : public PushSink {
 public:
  void Push(ferry::v1::ControllerMessage) override {}
  void Close(const absl::Status&) override {}
};

ferry::v1::DriftReport AlertDrift() {
  ferry::v1::DriftReport report;
  auto* item = report.add_items();
  item->set_forward("web");
  item->set_object("map dnat4 element 192.0.2.1 . tcp . 80");
  item->set_kind("nftables");
  item->set_expected("192.0.2.1 . tcp . 80 : 10.8.0.2 . 80");
  report.set_in_sync(false);
  return report;
}

class DriftWebhookTest : public ::testing::Test {
 protected:
  DriftWebhookTest() : notifier_({receiver_.Url()}), fleet_(&store_, Options()) {}

  void SetUp() override {
    ASSERT_TRUE(notifier_.Start().ok());
    RegisterWebhookMetrics(&registry_, &notifier_);
  }
  void TearDown() override { notifier_.Stop(absl::Seconds(1)); }

  FleetReconciler::Options Options() {
    FleetReconciler::Options options;
    options.metrics = &registry_;
    options.on_event = [this](const ferry::v1::Event& event) {
      if (IsAlertReason(event.reason())) notifier_.Notify(EventWebhookBody(event));
    };
    return options;
  }

  LoopbackReceiver receiver_;
  observability::Registry registry_;
  observability::WebhookNotifier notifier_;
  MemoryStore store_;
  FleetReconciler fleet_;
  NullPushSink sink_;
};

TEST_F(DriftWebhookTest, DriftDetectedIsPostedAsJson) {
  SessionHandle* a = fleet_.Connect("node-a", ferry::v1::Hello(), &sink_);
  fleet_.OnDrift(a, AlertDrift());
  ASSERT_TRUE(fleet_.ReconcileOnce().ok());
  std::vector<std::string> bodies = receiver_.WaitForBodyWith("DriftDetected");
  std::string drift;
  for (const std::string& b : bodies) {
    if (b.find("DriftDetected") != std::string::npos) drift = b;
  }
  EXPECT_THAT(drift,
              AllOf(HasSubstr("{\"event\":{"), HasSubstr("\"node\":\"node-a\""),
                    HasSubstr("map dnat4 element 192.0.2.1 . tcp . 80"), HasSubstr("\"count\":1")));
}

TEST_F(DriftWebhookTest, NodeConnectedIsNotPostedButNodeDisconnectedIs) {
  SessionHandle* a = fleet_.Connect("node-a", ferry::v1::Hello(), &sink_);
  ASSERT_TRUE(fleet_.ReconcileOnce().ok());
  fleet_.Disconnect(a);
  ASSERT_TRUE(fleet_.ReconcileOnce().ok());
  std::vector<std::string> bodies = receiver_.WaitForBodyWith("NodeDisconnected");
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_THAT(bodies[0], HasSubstr("NodeDisconnected"));
}

TEST_F(DriftWebhookTest, DeliveriesAreCountedInTheMetrics) {
  SessionHandle* a = fleet_.Connect("node-a", ferry::v1::Hello(), &sink_);
  fleet_.OnDrift(a, AlertDrift());
  ASSERT_TRUE(fleet_.ReconcileOnce().ok());
  receiver_.WaitForBodyWith("DriftDetected");
  // The receiver has the body before the notifier has read its answer.
  absl::Time deadline = absl::Now() + kWaitBound;
  while (notifier_.Stats().delivered < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_THAT(registry_.Render(), HasSubstr("ferry_webhook_delivered_total 1\n"));
}

}  // namespace
}  // namespace ferry::controller
