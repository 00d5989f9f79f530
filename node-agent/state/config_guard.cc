#include "node-agent/state/config_guard.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node-agent/state/desired_state.h"

namespace ferry::agent {
namespace {

// How many of the node's addresses an error lists.
constexpr size_t kListedAddresses = 8;

std::string DescribeAddresses(const std::vector<IpAddress>& addresses) {
  if (addresses.empty()) return "it reports none";
  std::vector<std::string> names;
  for (size_t i = 0; i < addresses.size() && i < kListedAddresses; ++i) {
    names.push_back(addresses[i].ToString());
  }
  std::string out = absl::StrCat("it has ", absl::StrJoin(names, ", "));
  if (addresses.size() > kListedAddresses) {
    absl::StrAppend(&out, " and ", addresses.size() - kListedAddresses, " more");
  }
  return out;
}

absl::Status NotLocal(absl::string_view forward, absl::string_view field, const IpAddress& address,
                      const std::vector<IpAddress>& local) {
  return absl::InvalidArgumentError(
      absl::StrCat("forward \"", forward, "\": ", field, ": ", address.ToString(),
                   " is not an address of this node (", DescribeAddresses(local),
                   "); refusing to take over traffic for it"));
}

// Entries per forward in one message.
template <typename Message>
absl::flat_hash_map<std::string, uint64_t> CountByForward(const Message& message) {
  absl::flat_hash_map<std::string, uint64_t> counts;
  for (const ferry::v1::DnatRule& r : message.dnat()) ++counts[r.forward()];
  for (const ferry::v1::ReturnRoute& r : message.return_routes()) ++counts[r.forward()];
  return counts;
}

}  // namespace

ConfigGuard::ConfigGuard(uint64_t max_entries, LocalAddresses local_addresses)
    : max_entries_(max_entries), local_addresses_(std::move(local_addresses)) {}

absl::Status ConfigGuard::CheckCount(uint64_t entries) const {
  if (entries <= max_entries_) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "config has ", entries, " entries (dnat and return routes), more than the ", max_entries_,
      " this agent accepts; raise its --max-config-entries if that is intended"));
}

absl::Status ConfigGuard::CheckEntries(
    const google::protobuf::RepeatedPtrField<ferry::v1::DnatRule>& dnat,
    const google::protobuf::RepeatedPtrField<ferry::v1::ReturnRoute>& returns) const {
  if (dnat.empty() && returns.empty()) return absl::OkStatus();
  std::vector<IpAddress> local = local_addresses_ ? local_addresses_() : std::vector<IpAddress>{};
  std::sort(local.begin(), local.end());
  const absl::flat_hash_set<IpAddress> own(local.begin(), local.end());
  for (int i = 0; i < dnat.size(); ++i) {
    absl::StatusOr<DnatExpansion> e = ExpandDnat(dnat[i], i);
    if (!e.ok()) return e.status();
    // A route query takes no traffic: it only asks for a route lookup.
    if (!dnat[i].route_query() && !own.contains(e->frontend)) {
      return NotLocal(dnat[i].forward(), absl::StrCat("dnat[", i, "].frontend_address"),
                      e->frontend, local);
    }
  }
  for (int i = 0; i < returns.size(); ++i) {
    absl::StatusOr<DesiredReturn> r = ExpandReturn(returns[i], i);
    if (!r.ok()) return r.status();
    if (!own.contains(r->source)) {
      return NotLocal(returns[i].forward(), absl::StrCat("return_routes[", i, "].source_address"),
                      r->source, local);
    }
  }
  return absl::OkStatus();
}

absl::Status ConfigGuard::Check(const ferry::v1::NodeConfig& config) const {
  // Counted before anything is expanded: the cap is what bounds that work.
  const uint64_t entries = uint64_t(config.dnat_size()) + uint64_t(config.return_routes_size());
  if (absl::Status s = CheckCount(entries); !s.ok()) return s;
  return CheckEntries(config.dnat(), config.return_routes());
}

absl::Status ConfigGuard::Check(const ferry::v1::NodeConfigDelta& delta) const {
  uint64_t entries = uint64_t(delta.dnat_size()) + uint64_t(delta.return_routes_size());
  {
    absl::MutexLock lock(&mu_);
    uint64_t replaced = 0;
    absl::flat_hash_set<absl::string_view> named;
    for (const std::string& forward : delta.forwards()) {
      if (!named.insert(forward).second) continue;
      if (auto it = held_.find(forward); it != held_.end()) replaced += it->second;
    }
    entries += held_total_ - replaced;
  }
  if (absl::Status s = CheckCount(entries); !s.ok()) return s;
  return CheckEntries(delta.dnat(), delta.return_routes());
}

void ConfigGuard::Applied(const ferry::v1::NodeConfig& config) {
  absl::flat_hash_map<std::string, uint64_t> counts = CountByForward(config);
  absl::MutexLock lock(&mu_);
  held_ = std::move(counts);
  held_total_ = uint64_t(config.dnat_size()) + uint64_t(config.return_routes_size());
}

void ConfigGuard::Applied(const ferry::v1::NodeConfigDelta& delta) {
  absl::flat_hash_map<std::string, uint64_t> counts = CountByForward(delta);
  absl::MutexLock lock(&mu_);
  for (const std::string& forward : delta.forwards()) {
    if (auto it = held_.find(forward); it != held_.end()) {
      held_total_ -= it->second;
      held_.erase(it);
    }
  }
  for (auto& [forward, count] : counts) {
    held_total_ += count;
    held_[forward] += count;
  }
}

uint64_t ConfigGuard::held_entries() const {
  absl::MutexLock lock(&mu_);
  return held_total_;
}

}  // namespace ferry::agent
