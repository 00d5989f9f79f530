#include "tests/bench/etcd_cluster.h"

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace ferry::bench {
namespace {

// Runs `body` with the calling thread in `ns` (nullptr: where it is), so
// the loopback sockets it opens are that namespace's.
absl::Status InNamespace(const Netns* ns, const std::function<absl::Status()>& body) {
  std::unique_ptr<NetnsEntry> entry;
  if (ns != nullptr) {
    absl::StatusOr<std::unique_ptr<NetnsEntry>> entered = NetnsEntry::Enter(*ns);
    if (!entered.ok()) return entered.status();
    entry = *std::move(entered);
  }
  return body();
}

// `count` distinct loopback ports free a moment ago in the calling
// thread's namespace.
absl::StatusOr<std::vector<int>> FreePorts(int count) {
  std::set<int> seen;
  std::vector<int> ports;
  for (int tries = 0; static_cast<int>(ports.size()) < count; ++tries) {
    if (tries > 10 * count) return absl::ResourceExhaustedError("no free loopback ports");
    absl::StatusOr<int> port = FreeLocalPort();
    if (!port.ok()) return port.status();
    if (seen.insert(*port).second) ports.push_back(*port);
  }
  return ports;
}

bool Healthy(int client_port) {
  absl::StatusOr<HttpResponse> r = HttpGet(client_port, "/health", 1);
  return r.ok() && r->code == 200 && absl::StrContains(r->body, "\"health\":\"true\"");
}

}  // namespace

bool EtcdCluster::Installed() { return access(kBinary, X_OK) == 0; }

std::string EtcdCluster::Version() {
  absl::StatusOr<ProcessResult> r = RunProcess({kBinary, "--version"}, nullptr, "", 10);
  if (!r.ok() || r->exit_code != 0) return "etcd (version unknown)";
  // "etcd Version: 3.4.23\nGit SHA: ..."
  absl::string_view first = r->output;
  first = first.substr(0, first.find('\n'));
  absl::ConsumePrefix(&first, "etcd Version: ");
  return absl::StrCat("etcd ", first);
}

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(const Options& options) {
  if (!Installed()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kBinary, " is missing: apt-get install etcd-server"));
  }
  if (options.members < 1) return absl::InvalidArgumentError("an etcd cluster needs a member");
  // Two ports per member: clients and peers.
  std::vector<int> ports;
  if (absl::Status s = InNamespace(options.netns,
                                   [&]() -> absl::Status {
                                     absl::StatusOr<std::vector<int>> free =
                                         FreePorts(2 * options.members);
                                     if (!free.ok()) return free.status();
                                     ports = *std::move(free);
                                     return absl::OkStatus();
                                   });
      !s.ok()) {
    return s;
  }
  auto url = [](int port) { return absl::StrCat("http://127.0.0.1:", port); };
  std::vector<std::string> peers;
  for (int i = 0; i < options.members; ++i) {
    peers.push_back(absl::StrCat("m", i, "=", url(ports[2 * i + 1])));
  }
  const std::string initial_cluster = absl::StrJoin(peers, ",");

  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster());
  for (int i = 0; i < options.members; ++i) {
    const std::string client = url(ports[2 * i]);
    const std::string peer = url(ports[2 * i + 1]);
    const std::string data = absl::StrCat(options.dir, "/member-", i);
    std::error_code error;
    std::filesystem::create_directories(data, error);
    if (error) return absl::InternalError(absl::StrCat(data, ": ", error.message()));
    Member m;
    m.client_port = ports[2 * i];
    m.log = absl::StrCat(options.dir, "/etcd-", i, ".log");
    absl::StatusOr<std::unique_ptr<Child>> child = Child::Start(
        {kBinary, absl::StrCat("--name=m", i), absl::StrCat("--data-dir=", data),
         absl::StrCat("--listen-client-urls=", client),
         absl::StrCat("--advertise-client-urls=", client),
         absl::StrCat("--listen-peer-urls=", peer),
         absl::StrCat("--initial-advertise-peer-urls=", peer),
         absl::StrCat("--initial-cluster=", initial_cluster), "--initial-cluster-state=new",
         absl::StrCat("--initial-cluster-token=ferry-bench-", getpid()),
         absl::StrCat("--max-txn-ops=", options.max_txn_ops),
         absl::StrCat("--max-request-bytes=", options.max_request_bytes), "--logger=zap",
         "--log-outputs=stderr", "--log-level=warn"},
        options.netns != nullptr ? options.netns->fd() : -1, m.log);
    if (!child.ok()) return child.status();
    m.child = *std::move(child);
    cluster->members_.push_back(std::move(m));
  }
  // Healthy: the member is up and knows a leader, so a write through it
  // commits.
  for (Member& m : cluster->members_) {
    bool exited = false;
    bool healthy = false;
    if (absl::Status s = InNamespace(options.netns,
                                     [&] {
                                       healthy = WaitUntil(
                                           [&] {
                                             exited = !m.child->Running();
                                             return exited || Healthy(m.client_port);
                                           },
                                           options.ready_timeout, 0.02);
                                       return absl::OkStatus();
                                     });
        !s.ok()) {
      return s;
    }
    if (exited || !healthy) {
      return absl::UnavailableError(absl::StrCat(
          "etcd member on ", url(m.client_port),
          exited ? " exited" : absl::StrCat(" not healthy within ", options.ready_timeout, " s"),
          "; its log: ", LogTail(m.log)));
    }
  }
  return cluster;
}

std::string EtcdCluster::Endpoints() const {
  std::vector<std::string> urls;
  for (const Member& m : members_) urls.push_back(absl::StrCat("http://127.0.0.1:", m.client_port));
  return absl::StrJoin(urls, ",");
}

std::vector<int64_t> EtcdCluster::PeakRssKib() const {
  std::vector<int64_t> out;
  for (const Member& m : members_) out.push_back(m.child->PeakRssKib());
  return out;
}

}  // namespace ferry::bench
