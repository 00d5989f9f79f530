// The data-path probe against a real kernel: a frontend namespace holding
// table inet ferry (the real NatBackend) and a backend namespace, joined by
// a veth pair; the real SocketProber connects from the frontend address
// through the output chain's DNAT. Shows what each outcome reports, that
// Masquerade's path is probed, and that the output chain leaves the
// node's own (unmarked) traffic alone.

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_backends.h"
#include "node-agent/probe/probe_scheduler.h"
#include "node-agent/probe/socket_prober.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using ferry::testing::CommandResult;
using ferry::testing::RunCommand;
using ::testing::HasSubstr;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

constexpr absl::Duration kTimeout = absl::Seconds(1);

ProbeTarget Target(uint16_t port, uint8_t protocol = kProtoTcp, uint16_t target_port = 8080) {
  ProbeTarget t;
  t.frontend = Ip("192.0.2.1");
  t.port = port;
  t.protocol = protocol;
  t.backend = Ip("10.9.0.2");
  t.target_port = target_port;
  t.timeout = kTimeout;
  return t;
}

sockaddr_storage Address(const char* ip, uint16_t port, socklen_t* len) {
  sockaddr_storage out{};
  const IpAddress a = Ip(ip);
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, a.data(), 4);
    *len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, a.data(), 16);
    *len = sizeof(sockaddr_in6);
  }
  return out;
}

// The frontend is the fixture's namespace (entered on the test thread, so
// the NatBackend and the prober's thread are there); the backend is a
// second one, removed on teardown whatever happened.
class ProbeTest : public testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    back_ = absl::StrCat(name(), "-b");
    CommandResult add = RunCommand(absl::StrCat("ip netns add ", back_));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    back_created_ = true;
    MustInNetns("ip link set lo up");
    MustInNetns("ip addr add 192.0.2.1/32 dev lo");
    MustInNetns("ip -6 addr add 2001:db8::1/128 dev lo nodad");
    MustInNetns(absl::StrCat("ip link add pf0 type veth peer name pb0 netns ", back_));
    MustInNetns("ip addr add 10.9.0.1/24 dev pf0");
    MustInNetns("ip -6 addr add fd00:9::1/64 dev pf0 nodad");
    MustInNetns("ip link set pf0 up");
    MustInBack("ip link set lo up");
    MustInBack("ip addr add 10.9.0.2/24 dev pb0");
    MustInBack("ip -6 addr add fd00:9::2/64 dev pb0 nodad");
    MustInBack("ip link set pb0 up");
    // The backend's way back to the frontend address, as a Preserve
    // forward's policy route sends replies to the frontend.
    MustInBack("ip route add 192.0.2.1/32 via 10.9.0.1");
    MustInBack("ip -6 route add 2001:db8::1/128 via fd00:9::1");

    // A fresh veth carries traffic only once the link is set up (about a
    // second for IPv6): wait, bounded, so a probe's timeout measures the
    // path and not the link coming up.
    ASSERT_TRUE(Reachable("ping -c1 -W0.2 -I 192.0.2.1 10.9.0.2"));
    ASSERT_TRUE(Reachable("ping -6 -c1 -W0.2 -I 2001:db8::1 fd00:9::2"));

    absl::StatusOr<std::unique_ptr<NatBackend>> nat = NewNetlinkNatBackend();
    ASSERT_TRUE(nat.ok()) << nat.status();
    nat_ = std::move(*nat);
    NatPlan plan;
    plan.create_table = true;
    plan.dnat_add = {
        {DnatKey{Ip("192.0.2.1"), kProtoTcp, 80}, DnatTarget{Ip("10.9.0.2"), 8080, "web"}},
        {DnatKey{Ip("192.0.2.1"), kProtoUdp, 53}, DnatTarget{Ip("10.9.0.2"), 5353, "dns"}},
        {DnatKey{Ip("2001:db8::1"), kProtoTcp, 80}, DnatTarget{Ip("fd00:9::2"), 8080, "web6"}}};
    absl::Status applied = nat_->Apply(plan);
    ASSERT_TRUE(applied.ok()) << applied;

    ASSERT_TRUE(prober_.Start().ok());
  }

  void TearDown() override {
    prober_.Stop();
    echo_stop_ = true;
    if (echo_.joinable()) echo_.join();
    for (int fd : sockets_) close(fd);
    nat_.reset();
    if (back_created_) RunCommand(absl::StrCat("ip netns del ", back_));
    NetnsTest::TearDown();
  }

  // Runs `ping` in the frontend until it succeeds, for up to 5 s.
  bool Reachable(const std::string& ping) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      if (InNetns(ping).exit_code == 0) return true;
    }
    return false;
  }

  std::string MustInBack(const std::string& command) {
    CommandResult r = RunCommand(absl::StrCat("ip netns exec ", back_, " ", command));
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.output;
    return r.output;
  }

  // A socket of the backend namespace, bound to ip:port (kept until
  // teardown); TCP ones listen, and complete handshakes without accept().
  int BackendSocket(int type, const char* ip, uint16_t port) {
    int fd = -1;
    const std::string path = absl::StrCat("/run/netns/", back_);
    std::thread([&] {
      const int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) return;
      close(ns);
      fd = socket(Ip(ip).is_v4() ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0);
    }).join();
    EXPECT_GE(fd, 0);
    return Bind(fd, type, ip, port);
  }

  // The same in the frontend (this thread's) namespace.
  int FrontendSocket(int type, const char* ip, uint16_t port) {
    return Bind(socket(Ip(ip).is_v4() ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0), type, ip,
                port);
  }

  int Bind(int fd, int type, const char* ip, uint16_t port) {
    sockets_.push_back(fd);
    socklen_t len = 0;
    sockaddr_storage addr = Address(ip, port, &len);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0) << strerror(errno);
    if (type == SOCK_STREAM) {
      EXPECT_EQ(listen(fd, 1024), 0);
    }
    return fd;
  }

  // A UDP echo server on the backend until teardown.
  void StartEcho(const char* ip, uint16_t port) {
    const int fd = BackendSocket(SOCK_DGRAM, ip, port);
    timeval slice{0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice));
    echo_ = std::thread([this, fd] {
      char buf[512];
      while (!echo_stop_) {
        sockaddr_storage from{};
        socklen_t len = sizeof(from);
        const ssize_t n =
            recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n >= 0) sendto(fd, buf, n, 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }

  // One probe, waited for (bounded).
  ProbeResult Run(const ProbeTarget& target) {
    absl::Notification done;
    ProbeResult result;
    prober_.Probe(target, [&](ProbeResult r) {
      result = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(target.timeout + absl::Seconds(5)));
    return result;
  }

  std::string back_;
  bool back_created_ = false;
  std::unique_ptr<NatBackend> nat_;
  SocketProber prober_;
  std::vector<int> sockets_;
  std::atomic<bool> echo_stop_{false};
  std::thread echo_;
};

TEST_F(ProbeTest, TcpWithAListenerOnTheBackendIsVerified) {
  BackendSocket(SOCK_STREAM, "10.9.0.2", 8080);
  EXPECT_EQ(Run(Target(80)),
            (ProbeResult{ProbeStatus::kTrue, "handshake with 10.9.0.2:8080 via 192.0.2.1:80"}));
  EXPECT_EQ(prober_.open_sockets(), 0u);
}

TEST_F(ProbeTest, TcpWithoutAListenerIsRefused) {
  EXPECT_EQ(Run(Target(80)),
            (ProbeResult{ProbeStatus::kFalse,
                         "connection refused by 10.9.0.2:8080 (RST) via 192.0.2.1:80"}));
}

TEST_F(ProbeTest, TcpWhoseRepliesTheBackendRoutesElsewhereTimesOut) {
  BackendSocket(SOCK_STREAM, "10.9.0.2", 8080);
  ASSERT_EQ(Run(Target(80)).status, ProbeStatus::kTrue);
  // The return path broken outside Ferry: the backend's replies to the
  // frontend address go nowhere, as a narrowed WireGuard allowed-ips does.
  MustInBack("ip route replace blackhole 192.0.2.1/32");
  EXPECT_EQ(Run(Target(80)),
            (ProbeResult{ProbeStatus::kFalse,
                         "no SYN-ACK from 10.9.0.2:8080 via 192.0.2.1:80 within 1s"}));
}

TEST_F(ProbeTest, TcpOverIpv6IsVerified) {
  BackendSocket(SOCK_STREAM, "fd00:9::2", 8080);
  ProbeTarget t = Target(80);
  t.frontend = Ip("2001:db8::1");
  t.backend = Ip("fd00:9::2");
  EXPECT_EQ(Run(t), (ProbeResult{ProbeStatus::kTrue,
                                 "handshake with [fd00:9::2]:8080 via [2001:db8::1]:80"}));
}

TEST_F(ProbeTest, UdpWithAnAnsweringServiceIsVerified) {
  StartEcho("10.9.0.2", 5353);
  EXPECT_EQ(Run(Target(53, kProtoUdp, 5353)),
            (ProbeResult{ProbeStatus::kTrue, "reply from 10.9.0.2:5353 via 192.0.2.1:53"}));
}

TEST_F(ProbeTest, UdpWithoutAServiceIsPortUnreachable) {
  EXPECT_EQ(Run(Target(53, kProtoUdp, 5353)),
            (ProbeResult{ProbeStatus::kFalse,
                         "port unreachable: 10.9.0.2:5353 answered ICMP port unreachable via "
                         "192.0.2.1:53"}));
}

TEST_F(ProbeTest, UdpWithASilentServiceIsUnknown) {
  BackendSocket(SOCK_DGRAM, "10.9.0.2", 5353);  // bound, never answers
  const ProbeResult r = Run(Target(53, kProtoUdp, 5353));
  EXPECT_EQ(r.status, ProbeStatus::kUnknown);
  EXPECT_EQ(r.message,
            "no reply to an empty datagram from 10.9.0.2:5353 via 192.0.2.1:53 within 1s; a UDP "
            "service need not answer");
}

TEST_F(ProbeTest, MasqueradeIsProbedThroughThePostroutingRule) {
  BackendSocket(SOCK_STREAM, "10.9.0.2", 8080);
  // No way back to the frontend address: only a masqueraded probe, whose
  // source becomes 10.9.0.1, can be answered.
  MustInBack("ip route del 192.0.2.1/32");
  EXPECT_EQ(Run(Target(80)).status, ProbeStatus::kFalse);
  NatPlan masq;
  masq.masq_add = {{MasqKey{Ip("10.9.0.2"), kProtoTcp, 8080}, "web"}};
  ASSERT_TRUE(nat_->Apply(masq).ok());
  EXPECT_EQ(Run(Target(80)),
            (ProbeResult{ProbeStatus::kTrue, "handshake with 10.9.0.2:8080 via 192.0.2.1:80"}));
}

TEST_F(ProbeTest, TheOutputChainLeavesUnmarkedLocalTrafficAlone) {
  // A service of the frontend itself on the forward's address and port;
  // nothing listens on the backend.
  const int local = FrontendSocket(SOCK_STREAM, "192.0.2.1", 80);
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockets_.push_back(client);
  socklen_t len = 0;
  sockaddr_storage to = Address("192.0.2.1", 80, &len);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), len), 0)
      << "unmarked traffic must reach the local service, not be DNATed: " << strerror(errno);
  const int accepted = accept4(local, nullptr, nullptr, SOCK_CLOEXEC);
  EXPECT_GE(accepted, 0);
  if (accepted >= 0) sockets_.push_back(accepted);
  // The probe's mark takes it to the backend, which refuses.
  EXPECT_EQ(Run(Target(80)).status, ProbeStatus::kFalse);
  EXPECT_THAT(Run(Target(80)).message, HasSubstr("refused by 10.9.0.2:8080"));
}

TEST_F(ProbeTest, AProbeNoElementMatchesIsDroppedNotAnsweredLocally) {
  FrontendSocket(SOCK_STREAM, "192.0.2.1", 82);
  FrontendSocket(SOCK_DGRAM, "192.0.2.1", 83);
  const ProbeResult tcp = Run(Target(82));
  EXPECT_EQ(tcp.status, ProbeStatus::kFalse);
  EXPECT_THAT(tcp.message, HasSubstr("no SYN-ACK"));
  const ProbeResult udp = Run(Target(83, kProtoUdp, 83));
  EXPECT_EQ(udp.status, ProbeStatus::kFalse);
  EXPECT_THAT(udp.message, HasSubstr("dropped on this node (EPERM)"));
}

// A probe that cannot be set up learns nothing about the data path.
TEST_F(ProbeTest, AFrontendAddressNotOnThisNodeIsUnknownNotFalse) {
  ProbeTarget t = Target(80);
  t.frontend = Ip("192.0.2.99");  // not an address of this node
  const ProbeResult r = Run(t);
  EXPECT_EQ(r.status, ProbeStatus::kUnknown);
  EXPECT_THAT(r.message, HasSubstr("cannot probe 192.0.2.99:80: bind: EADDRNOTAVAIL"));
}

// Thread and kernel time of many probes at once, for the README's cost
// figure: 1000 TCP handshakes, 64 in flight.
TEST_F(ProbeTest, AThousandProbesSixtyFourAtOnce) {
  BackendSocket(SOCK_STREAM, "10.9.0.2", 8080);
  constexpr int kProbes = 1000;
  constexpr int kInFlight = 64;
  absl::Mutex mu;
  int running = 0, verified = 0, done = 0;
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kProbes; ++i) {
    {
      absl::MutexLock lock(&mu);
      auto room = [&] {
        mu.AssertHeld();
        return running < kInFlight;
      };
      ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&room), absl::Seconds(10)));
      ++running;
    }
    prober_.Probe(Target(80), [&](ProbeResult r) {
      absl::MutexLock lock(&mu);
      --running;
      ++done;
      if (r.status == ProbeStatus::kTrue) ++verified;
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&] {
      mu.AssertHeld();
      return done == kProbes;
    };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30)));
    EXPECT_EQ(verified, kProbes);
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  auto ms = [](const timeval& a, const timeval& b) {
    return (b.tv_sec - a.tv_sec) * 1000.0 + (b.tv_usec - a.tv_usec) / 1000.0;
  };
  std::printf(
      "[ cost ] %d TCP probes, %d in flight: %.0f ms wall, %.0f ms user, %.0f ms kernel "
      "(both ends, one process)\n",
      kProbes, kInFlight, wall * 1000, ms(before.ru_utime, after.ru_utime),
      ms(before.ru_stime, after.ru_stime));
}

// The scheduler on the real prober: a pushed rule is verified, and a
// return path broken later is reported by the next periodic probe.
TEST_F(ProbeTest, TheSchedulerReportsVerifiedThenFailed) {
  BackendSocket(SOCK_STREAM, "10.9.0.2", 8080);
  absl::Mutex mu;
  std::vector<ferry::v1::DataPathVerdict> verdicts;
  ProbeScheduler scheduler(
      &prober_,
      [&](const ferry::v1::DataPathReport& report) {
        absl::MutexLock lock(&mu);
        for (const auto& v : report.verdicts()) verdicts.push_back(v);
        return true;
      },
      ProbeScheduler::Options{});
  ferry::v1::NodeConfig config;
  ferry::v1::DnatRule& rule = *config.add_dnat();
  rule.set_forward("web");
  rule.set_generation(4);
  rule.set_frontend_address("192.0.2.1");
  rule.set_protocol(ferry::v1::TCP);
  rule.set_port(80);
  rule.set_backend_address("10.9.0.2");
  rule.set_target_port(8080);
  rule.set_probe_period_seconds(1);
  rule.set_probe_timeout_seconds(1);
  scheduler.Start();
  scheduler.Applied(config);
  auto has = [&](const char* status) {
    return [&, status] {
      mu.AssertHeld();
      return !verdicts.empty() && verdicts.back().status() == status;
    };
  };
  {
    absl::MutexLock lock(&mu);
    auto verified = has("True");
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&verified), absl::Seconds(10)));
    EXPECT_EQ(verdicts.back().generation(), 4);
    EXPECT_EQ(verdicts.back().message(), "handshake with 10.9.0.2:8080 via 192.0.2.1:80");
  }
  MustInBack("ip route replace blackhole 192.0.2.1/32");
  {
    absl::MutexLock lock(&mu);
    auto failed = has("False");
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&failed), absl::Seconds(10)));
    EXPECT_EQ(verdicts.back().reason(), "ProbeFailed");
    EXPECT_EQ(verdicts.back().message(),
              "no SYN-ACK from 10.9.0.2:8080 via 192.0.2.1:80 within 1s");
  }
  prober_.Stop();  // before the scheduler goes: no result may reach it after
  scheduler.Stop();
}

}  // namespace
}  // namespace ferry::agent
