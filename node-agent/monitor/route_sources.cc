#include "node-agent/monitor/route_sources.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "api/lib/validation.h"

namespace ferry::agent {
namespace {

bool SameSources(const std::vector<ferry::v1::RouteSource>& a,
                 const std::vector<ferry::v1::RouteSource>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return std::tie(x.destination(), x.source(), x.interface()) ==
           std::tie(y.destination(), y.source(), y.interface());
  });
}

}  // namespace

void PreserveBackends::Applied(const ferry::v1::NodeConfig& config) {
  by_forward_.clear();
  forwards_.clear();
  for (const ferry::v1::DnatRule& rule : config.dnat()) Hold(rule.forward(), rule);
}

void PreserveBackends::Applied(const ferry::v1::NodeConfigDelta& delta) {
  for (const std::string& forward : delta.forwards()) Release(forward);
  for (const ferry::v1::DnatRule& rule : delta.dnat()) Hold(rule.forward(), rule);
}

std::vector<IpAddress> PreserveBackends::Addresses() const {
  std::vector<IpAddress> out;
  out.reserve(forwards_.size());
  for (const auto& [address, count] : forwards_) out.push_back(address);
  std::sort(out.begin(), out.end());
  return out;
}

void PreserveBackends::Hold(const std::string& forward, const ferry::v1::DnatRule& rule) {
  // A masquerading backend replies to this node's own address: it needs
  // no hop.
  if (rule.masquerade()) return;
  // Applied pushes were validated (ExpandDnat), so this parses.
  absl::StatusOr<IpAddress> backend = IpAddress::Parse(rule.backend_address());
  if (!backend.ok()) return;
  absl::InlinedVector<IpAddress, 1>& held = by_forward_[forward];
  // A forward's entries (one per port range) mostly share one backend.
  if (std::find(held.begin(), held.end(), *backend) != held.end()) return;
  held.push_back(*backend);
  ++forwards_[*backend];
}

void PreserveBackends::Release(const std::string& forward) {
  auto it = by_forward_.find(forward);
  if (it == by_forward_.end()) return;
  for (const IpAddress& backend : it->second) {
    auto count = forwards_.find(backend);
    if (count != forwards_.end() && --count->second == 0) forwards_.erase(count);
  }
  by_forward_.erase(it);
}

RouteSourceMonitor::RouteSourceMonitor(RouteLookup* lookup, Report report, Options options)
    : lookup_(lookup), report_(std::move(report)), options_(options) {}

RouteSourceMonitor::~RouteSourceMonitor() { Stop(); }

void RouteSourceMonitor::Applied(const ferry::v1::NodeConfig& config) {
  absl::MutexLock lock(&mu_);
  backends_.Applied(config);
  applied_ = true;
  due_ = true;
}

void RouteSourceMonitor::Applied(const ferry::v1::NodeConfigDelta& delta) {
  absl::MutexLock lock(&mu_);
  backends_.Applied(delta);
  applied_ = true;
  due_ = true;
}

void RouteSourceMonitor::Recheck() {
  absl::MutexLock lock(&mu_);
  due_ = true;
}

void RouteSourceMonitor::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void RouteSourceMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool RouteSourceMonitor::Woken() const { return stopping_ || (due_ && applied_); }

void RouteSourceMonitor::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &RouteSourceMonitor::Woken), options_.interval);
      if (stopping_) return;
    }
    Refresh();
  }
}

void RouteSourceMonitor::Refresh() {
  absl::MutexLock refresh(&refresh_mu_);
  std::vector<IpAddress> backends;
  {
    absl::MutexLock lock(&mu_);
    if (!applied_) return;
    due_ = false;
    backends = backends_.Addresses();
  }
  if (backends.size() > api::kMaxRouteSources) {
    // The controller refuses a longer list; the first ones still help.
    LogWarning("too many backends to report route sources for; reporting the first",
               {{"backends", absl::StrCat(backends.size())},
                {"reported", absl::StrCat(api::kMaxRouteSources)}});
    backends.resize(api::kMaxRouteSources);
  }
  std::vector<ferry::v1::RouteSource> sources;
  sources.reserve(backends.size());
  std::map<IpAddress, std::string> failing;
  for (const IpAddress& backend : backends) {
    absl::StatusOr<ferry::v1::RouteSource> source = lookup_->Get(backend);
    if (source.ok()) {
      sources.push_back(*std::move(source));
      continue;
    }
    std::string error(source.status().message());
    auto before = failing_.find(backend);
    if (before == failing_.end() || before->second != error) {
      // Once per failure, not every interval: the periodic lookup would
      // repeat it twice a minute.
      LogWarning("no route source for backend; the controller is not told one",
                 {{"backend", backend.ToString()}, {"error", error}});
    }
    failing.emplace(backend, std::move(error));
  }
  // A destination that recovered, or is no backend any more, may warn again.
  failing_ = std::move(failing);
  // Backends are sorted, and each lookup keeps its destination.
  if (reported_.has_value() && SameSources(*reported_, sources)) return;
  LogInfo("route sources changed",
          {{"count", absl::StrCat(sources.size())}, {"failed", absl::StrCat(failing_.size())}});
  reported_ = sources;
  report_(std::move(sources));
}

}  // namespace ferry::agent
