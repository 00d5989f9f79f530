// https webhooks against a real TLS receiver on loopback: the alert arrives
// signed over an encrypted, verified connection, and a receiver whose
// certificate Ferry should not trust gets nothing.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "api/observability/http_client.h"
#include "api/observability/socket_util.h"
#include "api/observability/tls_stream.h"
#include "api/observability/webhook.h"
#include "api/security/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::observability {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::Duration kWaitBound = absl::Seconds(5);

struct ServerIdentity {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// A throwaway CA and a serving certificate it signed for `sans`.
ServerIdentity MakeIdentity(const std::vector<std::string>& sans) {
  ServerIdentity id;
  absl::StatusOr<security::CertificateAuthority> ca =
      security::CreateCertificateAuthority("webhook-test-ca", absl::Hours(1));
  EXPECT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<std::string> key = security::GenerateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> csr = security::MakeCsrPem(*key, "receiver");
  EXPECT_TRUE(csr.ok()) << csr.status();
  security::SigningRequest request;
  request.csr_pem = *csr;
  request.common_name = "receiver";
  request.server = true;
  request.sans = sans;
  request.validity = absl::Hours(1);
  absl::StatusOr<std::string> cert = security::SignCertificate(*ca, request);
  EXPECT_TRUE(cert.ok()) << cert.status();
  id.ca_pem = ca->cert_pem;
  id.cert_pem = *cert;
  id.key_pem = *key;
  return id;
}

struct ReceivedPost {
  std::string sni;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Serves TLS on 127.0.0.1:0 with `identity`, one connection at a time,
// answering every complete POST with 200.
class TlsReceiver {
 public:
  explicit TlsReceiver(const ServerIdentity& identity) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_num_tickets(ctx_, 0);  // nothing written after the handshake
    X509* cert = ReadPem(identity.cert_pem, PEM_read_bio_X509);
    EVP_PKEY* key = ReadPem(identity.key_pem, PEM_read_bio_PrivateKey);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx_, cert), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_, key), 1);
    X509_free(cert);  // the SSL_CTX holds its own references
    EVP_PKEY_free(key);
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
  ~TlsReceiver() {
    stop_.Signal();
    thread_.join();
    SSL_CTX_free(ctx_);
  }

  std::string Url(const std::string& host = "127.0.0.1") const {
    return absl::StrCat("https://", host, ":", port_, "/hook");
  }

  std::vector<ReceivedPost> WaitForPosts(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return posts_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kWaitBound);
    return posts_;
  }

  // Waits (bounded) until `n` connections have been handled either way.
  void WaitForConnections(int n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return connections_ >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kWaitBound);
  }

 private:
  template <typename T>
  static T* ReadPem(const std::string& pem, T* (*read)(BIO*, T**, pem_password_cb*, void*)) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    T* value = read(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return value;
  }

  void Serve() {
    while (WaitFd(listen_.get(), POLLIN, absl::InfiniteFuture(), stop_.read_fd()).ok()) {
      UniqueFd conn(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) continue;
      timeval timeout = {5, 0};
      setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
      HandleOne(conn.get());
      absl::MutexLock lock(&mu_);
      ++connections_;
    }
  }

  void HandleOne(int fd) {
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_), SSL_free);
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) != 1) return;  // the client refused us
    ReceivedPost post;
    const char* sni = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
    post.sni = sni != nullptr ? sni : "";
    std::string data;
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    while (header_end == std::string::npos || data.size() < header_end + 4 + content_length) {
      char buf[4096];
      int n = SSL_read(ssl.get(), buf, sizeof(buf));
      if (n <= 0) return;
      data.append(buf, n);
      if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != data.npos) {
        for (absl::string_view line : absl::StrSplit(data.substr(0, header_end), "\r\n")) {
          size_t colon = line.find(':');
          if (colon == line.npos) continue;
          post.headers[absl::AsciiStrToLower(line.substr(0, colon))] =
              std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
        }
        EXPECT_TRUE(absl::SimpleAtoi(post.headers["content-length"], &content_length));
      }
    }
    post.body = data.substr(header_end + 4, content_length);
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    SSL_write(ssl.get(), response.data(), static_cast<int>(response.size()));
    absl::MutexLock lock(&mu_);
    posts_.push_back(std::move(post));
  }

  SSL_CTX* ctx_ = nullptr;
  UniqueFd listen_;
  CancelPipe stop_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<ReceivedPost> posts_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

// Hex HMAC-SHA256 computed here, independently of the code under test.
std::string HmacHex(const std::string& key, const std::string& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) absl::StrAppend(&hex, absl::Hex(mac[i], absl::kZeroPad2));
  return hex;
}

class WebhookTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/ferry-webhook-tls-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  }
  void TearDown() override {
    for (const std::string& file : files_) std::remove(file.c_str());
    rmdir(dir_.c_str());
  }

  std::string WriteCa(const std::string& name, const std::string& pem) {
    std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path) << pem;
    files_.push_back(path);
    return path;
  }

  // One HttpPost with the TLS settings the notifier would use.
  absl::StatusOr<int> PostOnce(const std::string& url_text, const std::string& ca_file) {
    absl::StatusOr<HttpUrl> url = ParseHttpUrl(url_text, "--alert-webhook");
    if (!url.ok()) return url.status();
    absl::StatusOr<std::unique_ptr<TlsClientContext>> tls =
        TlsClientContext::Create(ca_file, "--alert-webhook-ca");
    if (!tls.ok()) return tls.status();
    HttpPostRequest request;
    request.content_type = "application/json";
    request.body = "{}";
    return HttpPost(*url, request, tls->get(), kWaitBound, -1);
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(WebhookTlsTest, HttpsPostArrivesWithASignatureTheReceiverCanVerify) {
  ServerIdentity identity = MakeIdentity({"127.0.0.1"});
  TlsReceiver receiver(identity);
  WebhookOptions options;
  options.ca_file = WriteCa("ca.pem", identity.ca_pem);
  options.secret = "s3cret";
  options.timeout = kWaitBound;
  WebhookNotifier notifier({receiver.Url()}, options);
  ASSERT_TRUE(notifier.Start().ok());

  const std::string body = R"({"reason":"DriftDetected","node":"node-a"})";
  notifier.Notify(body);

  std::vector<ReceivedPost> posts = receiver.WaitForPosts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].body, body);
  const std::string& timestamp = posts[0].headers["x-ferry-timestamp"];
  int64_t seconds = 0;
  ASSERT_TRUE(absl::SimpleAtoi(timestamp, &seconds)) << timestamp;
  EXPECT_LE(absl::AbsDuration(absl::FromUnixSeconds(seconds) - absl::Now()), absl::Minutes(1));
  EXPECT_EQ(posts[0].headers["x-ferry-signature"],
            "sha256=" + HmacHex("s3cret", absl::StrCat(timestamp, ".", body)));
  notifier.Stop(kWaitBound);
  EXPECT_EQ(notifier.Stats().delivered, 1u);
}

TEST_F(WebhookTlsTest, AHostNameIsSentAsSniAndMatchedToTheCertificate) {
  ServerIdentity identity = MakeIdentity({"localhost"});
  TlsReceiver receiver(identity);

  absl::StatusOr<int> status =
      PostOnce(receiver.Url("localhost"), WriteCa("ca.pem", identity.ca_pem));

  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, 200);
  std::vector<ReceivedPost> posts = receiver.WaitForPosts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].sni, "localhost");
}

TEST_F(WebhookTlsTest, AServerCertificateFromAnotherCaIsRefused) {
  ServerIdentity identity = MakeIdentity({"127.0.0.1"});
  ServerIdentity other = MakeIdentity({"127.0.0.1"});
  TlsReceiver receiver(identity);

  absl::StatusOr<int> status = PostOnce(receiver.Url(), WriteCa("other-ca.pem", other.ca_pem));

  EXPECT_EQ(status.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.status().message(), HasSubstr(receiver.Url()));
  EXPECT_THAT(status.status().message(), HasSubstr("certificate"));
  receiver.WaitForConnections(1);
  EXPECT_THAT(receiver.WaitForPosts(0), IsEmpty());
}

TEST_F(WebhookTlsTest, ACertificateForAnotherHostIsRefused) {
  ServerIdentity identity = MakeIdentity({"alerts.example"});
  TlsReceiver receiver(identity);

  absl::StatusOr<int> status = PostOnce(receiver.Url(), WriteCa("ca.pem", identity.ca_pem));

  EXPECT_EQ(status.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.status().message(), HasSubstr("certificate"));
  receiver.WaitForConnections(1);
  EXPECT_THAT(receiver.WaitForPosts(0), IsEmpty());
}

TEST_F(WebhookTlsTest, WithoutACaFileTheSystemStoreDoesNotTrustAPrivateCa) {
  ServerIdentity identity = MakeIdentity({"127.0.0.1"});
  TlsReceiver receiver(identity);

  absl::StatusOr<int> status = PostOnce(receiver.Url(), "");

  EXPECT_EQ(status.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.status().message(), HasSubstr("certificate"));
  receiver.WaitForConnections(1);
  EXPECT_THAT(receiver.WaitForPosts(0), IsEmpty());
}

TEST_F(WebhookTlsTest, ACaFileWithoutCertificatesIsRefusedNamingTheFlag) {
  std::string path = WriteCa("empty.pem", "not a certificate\n");

  absl::StatusOr<std::unique_ptr<TlsClientContext>> tls =
      TlsClientContext::Create(path, "--alert-webhook-ca");

  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr("--alert-webhook-ca"));
  EXPECT_THAT(tls.status().message(), HasSubstr(path));
}

}  // namespace
}  // namespace ferry::observability
