#ifndef FERRY_NODE_AGENT_MONITOR_ROUTE_SOURCES_H_
#define FERRY_NODE_AGENT_MONITOR_ROUTE_SOURCES_H_

// The node's routes to the backends it DNATs to while keeping the client's
// source address (DnatRule.masquerade false), reported to the controller as
// RouteSources: each route's source is the hop the backend must send
// replies back to, and only this node's routing table knows it.
//
// Looked up again after every applied push, when the node's addresses
// change, and periodically (a WireGuard peer's route can change with no
// address change); reported only when the list differs from the last one.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/lib/ip_address.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/kernel/route_lookup.h"

namespace ferry::agent {

// The distinct backend addresses of the DNAT entries held that do not
// masquerade, kept up to date push by push: a delta costs its own entries,
// however many the node holds. Not thread-safe.
class PreserveBackends {
 public:
  // Holds `config`'s entries, and nothing else. O(entries), no copy of them.
  void Applied(const ferry::v1::NodeConfig& config);
  // The forwards `delta` names hold its entries, the others keep theirs.
  void Applied(const ferry::v1::NodeConfigDelta& delta);

  // Sorted, each once.
  std::vector<IpAddress> Addresses() const;

 private:
  void Hold(const std::string& forward, const ferry::v1::DnatRule& rule);
  void Release(const std::string& forward);

  // Per forward with such entries, its distinct backends (mostly one).
  absl::flat_hash_map<std::string, absl::InlinedVector<IpAddress, 1>> by_forward_;
  // Per backend, how many forwards hold it.
  absl::flat_hash_map<IpAddress, uint32_t> forwards_;
};

class RouteSourceMonitor {
 public:
  // Gets the whole list, sorted by destination, whenever it changed.
  using Report = std::function<void(std::vector<ferry::v1::RouteSource>)>;

  struct Options {
    absl::Duration interval = absl::Seconds(30);
  };

  // `lookup` must outlive the monitor.
  RouteSourceMonitor(RouteLookup* lookup, Report report, Options options);
  ~RouteSourceMonitor();

  RouteSourceMonitor(const RouteSourceMonitor&) = delete;
  RouteSourceMonitor& operator=(const RouteSourceMonitor&) = delete;

  // A push was applied: its backends are taken (O(its entries), on the
  // caller's thread) and looked up on the monitor's thread soon after.
  // Safe from any thread.
  void Applied(const ferry::v1::NodeConfig& config);
  void Applied(const ferry::v1::NodeConfigDelta& delta);
  // Something the routes depend on changed (the node's addresses): look
  // them up again soon. Safe from any thread.
  void Recheck();

  // Starts the thread that refreshes on Applied and Recheck and every
  // interval. Nothing is looked up, or reported, before the first push is
  // applied: until then the backends are unknown, not none.
  void Start();
  // Idempotent; joins the thread.
  void Stop();

  // One refresh on the calling thread: looks up every backend and reports
  // the list if it differs from the last report (the first is always
  // reported); nothing before the first push. A failed lookup leaves its destination out and is
  // logged when it starts failing. What the thread runs; tests call it directly (not while the
  // thread runs).
  void Refresh();

 private:
  void Run();
  // Stop, or a refresh asked for once there is something to look up.
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  RouteLookup* const lookup_;
  const Report report_;
  const Options options_;

  mutable absl::Mutex mu_;
  PreserveBackends backends_ ABSL_GUARDED_BY(mu_);
  bool applied_ ABSL_GUARDED_BY(mu_) = false;  // a push was applied: backends are known
  bool due_ ABSL_GUARDED_BY(mu_) = false;      // a refresh was asked for
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  // Refresh's own, so one refresh runs at a time.
  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::optional<std::vector<ferry::v1::RouteSource>> reported_ ABSL_GUARDED_BY(refresh_mu_);
  // Destinations whose lookup fails, with the error last logged.
  std::map<IpAddress, std::string> failing_ ABSL_GUARDED_BY(refresh_mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_MONITOR_ROUTE_SOURCES_H_
