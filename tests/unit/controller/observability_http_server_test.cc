#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "api/observability/endpoints.h"
#include "api/observability/http_server.h"
#include "api/observability/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::observability {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::Duration kIoBound = absl::Seconds(5);

// A real client socket to 127.0.0.1; every wait is bounded by kIoBound.
UniqueFd ConnectLoopback(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv = {5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "connect to 127.0.0.1:" << port << " failed";
  }
  return fd;
}

// Reads until the server closes the connection.
std::string ReadAll(int fd) {
  std::string out;
  const absl::Time deadline = absl::Now() + kIoBound;
  char buf[4096];
  while (absl::Now() < deadline) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string Exchange(int port, const std::string& request) {
  UniqueFd fd = ConnectLoopback(port);
  EXPECT_EQ(send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  return ReadAll(fd.get());
}

std::string Get(int port, const std::string& path) {
  return Exchange(port, "GET " + path + " HTTP/1.1\r\nHost: test\r\nUser-Agent: t\r\n\r\n");
}

int StatusOf(const std::string& response) {
  int status = 0;
  if (response.size() < 12 || !absl::SimpleAtoi(response.substr(9, 3), &status)) {
    return -1;
  }
  return status;
}

std::string BodyOf(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options);
    AddObservabilityEndpoints(server_.get(), &registry_, [this] { return ready_.load(); });
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  Registry registry_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ReportsTheBoundPortWhenListeningOnPortZero) {
  StartServer();
  EXPECT_THAT(Get(server_->port(), "/healthz"), StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(HttpServerTest, MetricsServesTheRegistryAsPrometheusText) {
  registry_.AddCounter("ferry_test_total", "A test counter.", {"node"})
      .value()
      ->WithLabels({"node-a"})
      ->Increment();
  StartServer();

  std::string response = Get(server_->port(), "/metrics");

  EXPECT_EQ(StatusOf(response), 200);
  EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_EQ(BodyOf(response), registry_.Render());
}

TEST_F(HttpServerTest, HealthzAnswersOk) {
  StartServer();
  std::string response = Get(server_->port(), "/healthz");
  EXPECT_EQ(StatusOf(response), 200);
  EXPECT_EQ(BodyOf(response), "ok\n");
}

TEST_F(HttpServerTest, ReadyzIs503WhileNotReady) {
  StartServer();
  EXPECT_EQ(StatusOf(Get(server_->port(), "/readyz")), 503);
}

TEST_F(HttpServerTest, ReadyzIs200OnceReady) {
  StartServer();
  ready_ = true;
  EXPECT_EQ(StatusOf(Get(server_->port(), "/readyz")), 200);
}

TEST_F(HttpServerTest, QueryStringIsIgnoredForRouting) {
  StartServer();
  EXPECT_EQ(StatusOf(Get(server_->port(), "/healthz?verbose=1")), 200);
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  StartServer();
  EXPECT_EQ(StatusOf(Get(server_->port(), "/nope")), 404);
}

TEST_F(HttpServerTest, NonGetMethodIs405WithAllowHeader) {
  StartServer();
  std::string response =
      Exchange(server_->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(StatusOf(response), 405);
  EXPECT_THAT(response, HasSubstr("Allow: GET\r\n"));
}

TEST_F(HttpServerTest, MalformedRequestLineIs400) {
  StartServer();
  EXPECT_EQ(StatusOf(Exchange(server_->port(), "hello\r\n\r\n")), 400);
}

TEST_F(HttpServerTest, RequestOverTheSizeLimitIs431) {
  HttpServerOptions options;
  options.max_request_bytes = 1024;
  StartServer(options);
  // Exactly one byte over, so the server has read everything we sent and
  // closes without a reset that could swallow its answer.
  std::string request = "GET /healthz HTTP/1.1\r\nX: ";
  request.append(1025 - request.size(), 'a');
  EXPECT_EQ(StatusOf(Exchange(server_->port(), request)), 431);
}

TEST_F(HttpServerTest, IncompleteRequestIs408AfterTheReadTimeout) {
  HttpServerOptions options;
  options.read_timeout = absl::Milliseconds(100);
  StartServer(options);
  EXPECT_EQ(StatusOf(Exchange(server_->port(), "GET /healthz HTTP/1.1\r\n")), 408);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitGet503) {
  HttpServerOptions options;
  options.max_connections = 1;
  StartServer(options);
  // Accepted first (the backlog is FIFO) and held open mid-request.
  UniqueFd idle = ConnectLoopback(server_->port());
  ASSERT_GT(send(idle.get(), "GET", 3, MSG_NOSIGNAL), 0);

  EXPECT_EQ(StatusOf(Get(server_->port(), "/healthz")), 503);
}

TEST_F(HttpServerTest, StopReturnsPromptlyWithAnIdleConnectionOpen) {
  StartServer();  // read timeout 5 s
  UniqueFd idle = ConnectLoopback(server_->port());
  ASSERT_GT(send(idle.get(), "GET", 3, MSG_NOSIGNAL), 0);
  // Accepts are FIFO: once a later request is answered, the idle one has a
  // connection thread for Stop to cut short.
  ASSERT_EQ(StatusOf(Exchange(server_->port(), "GET /healthz HTTP/1.1\r\n\r\n")), 200);

  absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // The idle client sees the close rather than waiting forever.
  EXPECT_EQ(ReadAll(idle.get()), "");
}

TEST(HttpServerStartTest, InvalidListenAddressNamesTheField) {
  HttpServerOptions options;
  options.listen = "127.0.0.1";  // no port
  HttpServer server(options);
  absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("listen address \"127.0.0.1\""));
}

TEST(HttpServerStartTest, ListensOnIpv6Loopback) {
  HttpServerOptions options;
  options.listen = "[::1]:0";
  HttpServer server(options);
  absl::Status status = server.Start();
  if (!status.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << status;
  UniqueFd fd(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 addr = {};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(static_cast<uint16_t>(server.port()));
  addr.sin6_addr = in6addr_loopback;
  EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  server.Stop();
}

}  // namespace
}  // namespace ferry::observability
