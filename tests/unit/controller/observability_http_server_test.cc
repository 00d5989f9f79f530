#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "api/observability/endpoints.h"
#include "api/observability/http_server.h"
#include "api/observability/metrics.h"
#include "api/observability/tls_server_context.h"
#include "api/observability/tls_stream.h"
#include "api/security/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::observability {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
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

TEST(HttpServerLoopbackTest, TellsLoopbackAddressesFromOthers) {
  EXPECT_TRUE(IsLoopbackListen("127.0.0.1:9100"));
  EXPECT_TRUE(IsLoopbackListen("127.1.2.3:0"));
  EXPECT_TRUE(IsLoopbackListen("[::1]:9100"));
  EXPECT_TRUE(IsLoopbackListen("localhost:9100"));
  EXPECT_FALSE(IsLoopbackListen(":9100"));
  EXPECT_FALSE(IsLoopbackListen("0.0.0.0:9100"));
  EXPECT_FALSE(IsLoopbackListen("192.0.2.1:9100"));
  EXPECT_FALSE(IsLoopbackListen("127.0.0.1"));  // no port: not an address at all
}

// A CA and a serving certificate for 127.0.0.1, as the controller's PKI
// makes them; the CA is written to a file for the client.
struct TestPki {
  security::CertificateAuthority ca;
  std::string chain_pem;
  std::string key_pem;
  std::string ca_file;
};

TestPki MakeTestPki() {
  TestPki pki;
  pki.ca = security::CreateCertificateAuthority("test ca", absl::Hours(1)).value();
  pki.key_pem = security::GenerateKeyPem().value();
  security::SigningRequest request;
  request.csr_pem = security::MakeCsrPem(pki.key_pem, "controller").value();
  request.common_name = "controller";
  request.server = true;
  request.sans = {"127.0.0.1", "localhost"};
  pki.chain_pem = security::SignCertificate(pki.ca, request).value() + pki.ca.cert_pem;
  pki.ca_file = ::testing::TempDir() + "/http_server_test_ca.pem";
  std::FILE* f = std::fopen(pki.ca_file.c_str(), "w");
  std::fputs(pki.ca.cert_pem.c_str(), f);
  std::fclose(f);
  return pki;
}

class HttpsServerTest : public HttpServerTest {
 protected:
  void StartHttps(HttpServerOptions options = {}) {
    options.tls = TlsServerContext::Create(pki_.chain_pem, pki_.key_pem).value();
    StartServer(options);
  }

  // GET over TLS, verifying the server against the test CA; the whole
  // response, until the server closes.
  absl::StatusOr<std::string> HttpsGet(const std::string& path) {
    absl::StatusOr<std::unique_ptr<TlsClientContext>> context =
        TlsClientContext::Create(pki_.ca_file, "ca");
    if (!context.ok()) return context.status();
    UniqueFd fd = ConnectLoopback(server_->port());
    if (absl::Status s = SetNonBlocking(fd.get()); !s.ok()) return s;
    const absl::Time deadline = absl::Now() + kIoBound;
    absl::StatusOr<std::unique_ptr<TlsStream>> tls =
        TlsStream::Connect(**context, fd.get(), "127.0.0.1", deadline, -1);
    if (!tls.ok()) return tls.status();
    if (absl::Status s =
            (*tls)->SendAll("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n", deadline, -1);
        !s.ok()) {
      return s;
    }
    std::string response;
    for (;;) {
      absl::StatusOr<size_t> n = (*tls)->ReceiveSome(&response, 4096, deadline, -1);
      if (!n.ok()) return n.status();
      if (*n == 0) return response;
    }
  }

  TestPki pki_ = MakeTestPki();
};

TEST_F(HttpsServerTest, ServesOverTlsVerifiedAgainstTheCa) {
  StartHttps();
  absl::StatusOr<std::string> response = HttpsGet("/healthz");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(StatusOf(*response), 200);
  EXPECT_EQ(BodyOf(*response), "ok\n");
}

TEST_F(HttpsServerTest, PlaintextRequestGetsA400NamingHttps) {
  StartHttps();
  std::string response = Get(server_->port(), "/metrics");
  EXPECT_EQ(StatusOf(response), 400);
  EXPECT_THAT(BodyOf(response), HasSubstr("use https://"));
  EXPECT_THAT(response, Not(HasSubstr("# TYPE")));
}

TEST(TlsServerContextTest, RefusesAKeyThatDoesNotMatchTheCertificate) {
  TestPki pki = MakeTestPki();
  absl::StatusOr<std::unique_ptr<TlsServerContext>> context =
      TlsServerContext::Create(pki.chain_pem, security::GenerateKeyPem().value());
  EXPECT_EQ(context.status().code(), absl::StatusCode::kInvalidArgument);
}

// A handler that streams "one", then "two" once the test says so.
class StreamingTest : public HttpServerTest {
 protected:
  void AddStream() {
    server_->Handle("/stream", [this](const HttpRequest&) {
      HttpResponse response;
      response.content_type = "text/event-stream";
      response.stream = [this](ResponseStream& out) {
        if (!out.Send("one\n")) return;
        while (!go_.load()) {
          if (!out.Wait(absl::Milliseconds(20))) {
            ended_early_ = true;
            return;
          }
        }
        out.Send("two\n");
      };
      return response;
    });
  }
  void Start(HttpServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options);
    AddStream();
    ASSERT_TRUE(server_->Start().ok());
  }
  // Reads from `fd` until `text` has arrived (bounded).
  static std::string ReadUntil(int fd, const std::string& text) {
    std::string out;
    char buf[4096];
    const absl::Time deadline = absl::Now() + kIoBound;
    while (out.find(text) == std::string::npos && absl::Now() < deadline) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  std::atomic<bool> go_{false};
  std::atomic<bool> ended_early_{false};
};

TEST_F(StreamingTest, StreamsTheBodyWithoutALengthAsTheHandlerWritesIt) {
  Start();
  UniqueFd fd = ConnectLoopback(server_->port());
  const std::string request = "GET /stream HTTP/1.1\r\n\r\n";
  ASSERT_EQ(send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string first = ReadUntil(fd.get(), "one\n");
  EXPECT_THAT(first, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(first, Not(HasSubstr("Content-Length")));
  EXPECT_THAT(first, HasSubstr("Content-Type: text/event-stream"));
  go_ = true;
  EXPECT_THAT(ReadAll(fd.get()), HasSubstr("two\n"));
}

TEST_F(StreamingTest, StreamsBeyondTheLimitGet503) {
  HttpServerOptions options;
  options.max_streams = 1;
  Start(options);
  UniqueFd held = ConnectLoopback(server_->port());
  const std::string request = "GET /stream HTTP/1.1\r\n\r\n";
  ASSERT_GT(send(held.get(), request.data(), request.size(), MSG_NOSIGNAL), 0);
  ASSERT_THAT(ReadUntil(held.get(), "one\n"), HasSubstr("one\n"));  // the one slot is taken

  EXPECT_EQ(StatusOf(Get(server_->port(), "/stream")), 503);
  EXPECT_EQ(StatusOf(Get(server_->port(), "/nope")), 404);  // other requests are still served
}

TEST_F(StreamingTest, StreamEndsWhenTheClientCloses) {
  Start();
  {
    UniqueFd fd = ConnectLoopback(server_->port());
    const std::string request = "GET /stream HTTP/1.1\r\n\r\n";
    ASSERT_GT(send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL), 0);
    ASSERT_THAT(ReadUntil(fd.get(), "one\n"), HasSubstr("one\n"));
  }  // closed
  const absl::Time deadline = absl::Now() + kIoBound;
  while (!ended_early_.load() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(ended_early_.load());
}

TEST_F(StreamingTest, StreamEndsAtItsMaximumDuration) {
  HttpServerOptions options;
  options.max_stream_duration = absl::Milliseconds(200);
  Start(options);
  UniqueFd fd = ConnectLoopback(server_->port());
  const std::string request = "GET /stream HTTP/1.1\r\n\r\n";
  ASSERT_GT(send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL), 0);
  // The server closes the stream by itself; "two" never comes.
  std::string all = ReadAll(fd.get());
  EXPECT_THAT(all, HasSubstr("one\n"));
  EXPECT_THAT(all, Not(HasSubstr("two")));
  EXPECT_TRUE(ended_early_.load());
}

TEST_F(StreamingTest, StopEndsAnOpenStreamPromptly) {
  Start();
  UniqueFd fd = ConnectLoopback(server_->port());
  const std::string request = "GET /stream HTTP/1.1\r\n\r\n";
  ASSERT_GT(send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL), 0);
  ASSERT_THAT(ReadUntil(fd.get(), "one\n"), HasSubstr("one\n"));
  const absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(ended_early_.load());
}

}  // namespace
}  // namespace ferry::observability
