#include "tests/unit/controller/etcd_test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "controller/etcd/etcd_client.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

constexpr char kEtcdBinary[] = "/usr/bin/etcd";
// How long a fresh member may take to elect itself and answer.
constexpr absl::Duration kReadyTimeout = absl::Seconds(20);
// Ports can be taken between finding them free and etcd binding them.
constexpr int kStartAttempts = 3;

// A socket bound to a free loopback port (not listening); -1 on failure.
int BindLoopbackPort(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

std::string ReadTail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

// Forks and execs `argv` with stdout and stderr to `log_path`. Everything
// the child needs is prepared before the fork: after it, only
// async-signal-safe calls (gRPC has threads in this process).
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) {
    const std::string error = strerror(errno);
    if (log >= 0) close(log);
    if (null >= 0) close(null);
    return absl::InternalError(absl::StrCat("open ", log_path, ": ", error));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the test died before prctl
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  const int fork_errno = errno;
  close(log);
  close(null);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(fork_errno)));
  return pid;
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Whether `pid` is still running; reaps it if not.
bool Running(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

// Waits until the member at `endpoint` answers, or `pid` exits (then
// `*exited`: it is reaped), or kReadyTimeout passes.
absl::Status AwaitReady(pid_t pid, const std::string& endpoint, EtcdClientOptions options,
                        bool* exited) {
  options.endpoints = {endpoint};
  options.request_timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
  if (!client.ok()) return client.status();
  const absl::Time deadline = absl::Now() + kReadyTimeout;
  absl::Status last;
  while (absl::Now() < deadline) {
    if (!Running(pid)) {
      *exited = true;
      return absl::UnavailableError("etcd exited during startup");
    }
    absl::StatusOr<int64_t> revision = (*client)->Ping(absl::Milliseconds(500));
    if (revision.ok()) return absl::OkStatus();
    last = revision.status();
  }
  return absl::DeadlineExceededError(absl::StrCat("etcd at ", endpoint, " did not answer within ",
                                                  absl::FormatDuration(kReadyTimeout), ": ",
                                                  last.message()));
}

absl::Mutex shared_mu(absl::kConstInit);
EtcdTestServer* shared_server ABSL_GUARDED_BY(shared_mu) = nullptr;
absl::Status* shared_failure ABSL_GUARDED_BY(shared_mu) = nullptr;

void StopSharedServer() {
  absl::MutexLock lock(&shared_mu);
  delete shared_server;
  shared_server = nullptr;
}

}  // namespace

bool EtcdTestServer::Installed() { return access(kEtcdBinary, X_OK) == 0; }

absl::StatusOr<std::unique_ptr<EtcdTestServer>> EtcdTestServer::Start(const Options& options) {
  if (!Installed()) return absl::FailedPreconditionError(kNotInstalled);
  std::string dir = absl::StrCat(::testing::TempDir(), "ferry-etcd-XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", dir, ": ", strerror(errno)));
  }
  absl::Status last;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    int client_port = 0, peer_port = 0;
    const int client_fd = BindLoopbackPort(&client_port);
    const int peer_fd = BindLoopbackPort(&peer_port);
    if (client_fd >= 0) close(client_fd);
    if (peer_fd >= 0) close(peer_fd);
    if (client_fd < 0 || peer_fd < 0) {
      std::filesystem::remove_all(dir);
      return absl::InternalError(absl::StrCat("no free loopback port: ", strerror(errno)));
    }
    const bool tls = !options.cert_file.empty();
    const std::string client_url =
        absl::StrCat(tls ? "https" : "http", "://127.0.0.1:", client_port);
    const std::string peer_url = absl::StrCat("http://127.0.0.1:", peer_port);
    std::vector<std::string> argv = {kEtcdBinary,
                                     "--name=ferry-test",
                                     absl::StrCat("--data-dir=", dir, "/data-", attempt),
                                     "--listen-client-urls=" + client_url,
                                     "--advertise-client-urls=" + client_url,
                                     "--listen-peer-urls=" + peer_url,
                                     "--initial-advertise-peer-urls=" + peer_url,
                                     "--initial-cluster=ferry-test=" + peer_url,
                                     "--logger=zap",
                                     "--log-outputs=stderr",
                                     "--log-level=warn"};
    if (options.max_txn_ops > 0) {
      argv.push_back(absl::StrCat("--max-txn-ops=", options.max_txn_ops));
    }
    if (options.max_request_bytes > 0) {
      argv.push_back(absl::StrCat("--max-request-bytes=", options.max_request_bytes));
    }
    if (tls) {
      argv.push_back("--cert-file=" + options.cert_file);
      argv.push_back("--key-file=" + options.key_file);
      argv.push_back("--trusted-ca-file=" + options.trusted_ca_file);
      argv.push_back("--client-cert-auth");
    }
    absl::StatusOr<pid_t> pid = Spawn(argv, dir + "/etcd.log");
    if (!pid.ok()) {
      std::filesystem::remove_all(dir);
      return pid.status();
    }
    bool exited = false;
    last = AwaitReady(*pid, client_url, options.client, &exited);
    if (last.ok()) {
      return std::unique_ptr<EtcdTestServer>(new EtcdTestServer(*pid, dir, client_url));
    }
    if (!exited) KillAndReap(*pid);
    last = absl::Status(
        last.code(),
        absl::StrCat(last.message(), "; its log ends: ", ReadTail(dir + "/etcd.log", 2000)));
  }
  std::filesystem::remove_all(dir);
  return last;
}

absl::StatusOr<EtcdTestServer*> EtcdTestServer::Shared() {
  absl::MutexLock lock(&shared_mu);
  if (shared_server != nullptr) return shared_server;
  // A server that failed to start fails every test the same way, at once.
  if (shared_failure != nullptr) return *shared_failure;
  Options options;
  options.max_txn_ops = 200000;
  options.max_request_bytes = 64 << 20;
  absl::StatusOr<std::unique_ptr<EtcdTestServer>> server = Start(options);
  if (!server.ok()) {
    shared_failure = new absl::Status(server.status());
    return server.status();
  }
  shared_server = server->release();
  std::atexit(StopSharedServer);
  return shared_server;
}

EtcdTestServer::~EtcdTestServer() { Stop(); }

void EtcdTestServer::Stop() {
  if (pid_ > 0) KillAndReap(pid_);
  pid_ = 0;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string EtcdTestServer::LogTail() const { return ReadTail(log_path_, 2000); }

EtcdStore::Options EtcdTestServer::StoreOptions() const {
  EtcdStore::Options options;
  options.client.endpoints = {endpoint_};
  options.prefix = TestPrefix();
  return options;
}

std::string EtcdTestServer::TestPrefix() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = test == nullptr ? std::string("no-test")
                                     : absl::StrCat(test->test_suite_name(), "-", test->name());
  for (char& c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') c = '-';
  }
  return absl::StrCat("/ferry-test-", getpid(), "-", name, "/");
}

absl::Status EtcdTestServer::DeletePrefix(const std::string& prefix) const {
  EtcdClientOptions options;
  options.endpoints = {endpoint_};
  absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
  if (!client.ok()) return client.status();
  etcdserverpb::TxnRequest txn;
  etcdserverpb::DeleteRangeRequest* clear = txn.add_success()->mutable_request_delete_range();
  clear->set_key(prefix);
  clear->set_range_end(PrefixRangeEnd(prefix));
  etcdserverpb::TxnResponse response;
  return (*client)->Txn(txn, &response);
}

std::string EtcdTestServer::DeadEndpoint() {
  // Held for the process's life: bound, so no one else takes the port, and
  // not listening, so a connection to it is refused.
  static const std::string* const endpoint = [] {
    int port = 0;
    if (BindLoopbackPort(&port) < 0) return new std::string("http://127.0.0.1:1");
    return new std::string(absl::StrCat("http://127.0.0.1:", port));
  }();
  return *endpoint;
}

}  // namespace ferry::controller
