#include "tests/bench/controller_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "tests/bench/bench_util.h"

namespace ferry::bench {

absl::StatusOr<std::unique_ptr<Child>> Child::Start(const std::vector<std::string>& argv,
                                                    int netns_fd, const std::string& log_path) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls (this process has threads).
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log < 0 || null < 0) _exit(125);
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return std::unique_ptr<Child>(new Child(pid));
}

Child::~Child() { Stop(); }

bool Child::Running() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

void Child::Stop(double grace_seconds) {
  if (reaped_) return;
  kill(pid_, SIGTERM);
  const double deadline = NowSeconds() + grace_seconds;
  while (NowSeconds() < deadline) {
    if (!Running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  reaped_ = true;
}

int64_t Child::RssKib() const { return ReadStatusKib("VmRSS", pid_); }

int64_t Child::PeakRssKib() const { return ReadStatusKib("VmHWM", pid_); }

absl::StatusOr<std::unique_ptr<Child>> StartAgent(const BenchOptions& options,
                                                  const ControllerProcess& controller, int netns_fd,
                                                  const std::string& node, const std::string& dir) {
  return StartAgentWithFlags(options, controller, netns_fd, node,
                             absl::StrCat(dir, "/", node, ".log"), {});
}

absl::StatusOr<std::unique_ptr<Child>> StartAgentWithFlags(
    const BenchOptions& options, const ControllerProcess& controller, int netns_fd,
    const std::string& node, const std::string& log_path,
    const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {SiblingBinary(options, "ferry-agent"), "--node-name", node,
                                   "--controller", controller.socket};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  if (options.debug_logs) argv.insert(argv.end(), {"--v", "debug"});
  return Child::Start(argv, netns_fd, log_path);
}

std::string LogTail(const std::string& path, size_t bytes) {
  std::ifstream log(path);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  return absl::StrReplaceAll(text.substr(text.size() > bytes ? text.size() - bytes : 0),
                             {{"\n", " / "}, {"|", "\\|"}});
}

std::string SiblingBinary(const BenchOptions& options, const std::string& name) {
  return absl::StrCat(options.self.substr(0, options.self.rfind('/') + 1), name);
}

bool WaitUntil(const std::function<bool()>& ready, double timeout, double poll) {
  const double deadline = NowSeconds() + timeout;
  while (true) {
    if (ready()) return true;
    if (NowSeconds() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(poll * 1e6)));
  }
}

absl::StatusOr<int> FreeLocalPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& path, double timeout) {
  const double deadline = NowSeconds() + timeout;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect 127.0.0.1:", port, ": ", strerror(errno)));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("send failed");
  }
  std::string response;
  char buf[65536];
  while (true) {
    const double left = deadline - NowSeconds();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) {
      close(fd);
      return absl::DeadlineExceededError(absl::StrCat("GET ", path, ": no answer in time"));
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  HttpResponse out;
  if (response.size() < 12 || !absl::SimpleAtoi(response.substr(9, 3), &out.code)) {
    return absl::DataLossError(absl::StrCat("GET ", path, ": not an HTTP response"));
  }
  size_t body = response.find("\r\n\r\n");
  if (body != std::string::npos) out.body = response.substr(body + 4);
  return out;
}

double MetricValue(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      size_t end = text.find('\n', at);
      double value = 0;
      if (absl::SimpleAtod(text.substr(at + prefix.size(), end - at - prefix.size()), &value)) {
        return value;
      }
      return 0;
    }
    at += prefix.size();
  }
  return 0;
}

absl::StatusOr<ControllerProcess> StartController(const BenchOptions& options,
                                                  const std::string& dir,
                                                  const std::string& data_dir) {
  ControllerProcess c;
  absl::StatusOr<int> port = FreeLocalPort();
  if (!port.ok()) return port.status();
  c.metrics_port = *port;
  c.socket = absl::StrCat("unix:", dir, "/c.sock");
  c.data_dir = data_dir;
  c.log = absl::StrCat(dir, "/controller.log");
  std::vector<std::string> argv = {SiblingBinary(options, "ferry-controller"), "--data-dir",
                                   data_dir, "--listen", c.socket, "--metrics-listen",
                                   absl::StrCat("127.0.0.1:", c.metrics_port),
                                   // The synthetic fleets claim ports 1..50000 on
                                   // namespace-only addresses; admission's default
                                   // (22 and the metrics port) is not under test.
                                   "--reserved-ports", "65535"};
  if (options.debug_logs) argv.insert(argv.end(), {"--v", "debug"});
  absl::StatusOr<std::unique_ptr<Child>> child = Child::Start(argv, -1, c.log);
  if (!child.ok()) return child.status();
  c.child = *std::move(child);
  return c;
}

std::unique_ptr<ferry::v1::ResourceService::Stub> ResourceStub(const std::string& socket) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  // Reconnect at once when the server appears (restart timing), instead of
  // after gRPC's default 1 s+ backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 5);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 20);
  return ferry::v1::ResourceService::NewStub(
      grpc::CreateCustomChannel(socket, grpc::InsecureChannelCredentials(), args));
}

absl::Status Apply(ferry::v1::ResourceService::Stub* stub,
                   const std::vector<ferry::v1::Object>& objects, double timeout) {
  ferry::v1::ApplyRequest request;
  for (const ferry::v1::Object& o : objects) *request.add_objects() = o;
  ferry::v1::ApplyResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
  // /metrics can answer before the gRPC socket is bound: wait (within the
  // deadline) for the channel instead of failing fast on a missing socket.
  context.set_wait_for_ready(true);
  grpc::Status s = stub->Apply(&context, request, &response);
  if (!s.ok()) {
    return absl::UnknownError(absl::StrCat("Apply of ", objects.size(), " objects: ",
                                           s.error_message(), " (code ", s.error_code(), ")"));
  }
  return absl::OkStatus();
}

ferry::v1::Object MasqueradeForward(const std::string& name, const std::string& node,
                                    const std::string& address, uint32_t port,
                                    uint32_t target_port) {
  ferry::v1::Object o;
  ferry::v1::IPForward* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_spec()->mutable_frontend()->set_node_name(node);
  f->mutable_spec()->mutable_frontend()->set_address(address);
  f->mutable_spec()->mutable_backend()->set_address("198.18.0.1");
  f->mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  ferry::v1::PortMapping* p = f->mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  p->set_target_port(target_port);
  return o;
}

std::string ForwardYaml(const ferry::v1::Object& forward) {
  const ferry::v1::IPForward& f = forward.ip_forward();
  const ferry::v1::PortMapping& p = f.spec().ports(0);
  return absl::StrFormat(
      "apiVersion: ferry.dev/v1\nkind: IPForward\nmetadata:\n  name: %s\nspec:\n"
      "  frontend:\n    nodeName: %s\n    address: %s\n  backend:\n    address: %s\n"
      "  ports:\n  - protocol: TCP\n    port: %d\n    targetPort: %d\n  sourceIP: Masquerade\n",
      f.metadata().name(), f.spec().frontend().node_name(), f.spec().frontend().address(),
      f.spec().backend().address(), p.port(), p.target_port());
}

}  // namespace ferry::bench
