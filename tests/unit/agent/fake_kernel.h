#ifndef FERRY_TESTS_UNIT_AGENT_FAKE_KERNEL_H_
#define FERRY_TESTS_UNIT_AGENT_FAKE_KERNEL_H_

// In-memory kernels for reconcile tests. They behave like the real ones in
// the ways the reconciler depends on: NAT batches are all-or-nothing, route
// messages land one by one (so a failure can leave part of a plan applied),
// and each can be told to fail.

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "node-agent/kernel/nat_backend.h"
#include "node-agent/kernel/route_backend.h"

namespace ferry::agent::testing {

class FakeNatBackend : public NatBackend {
 public:
  absl::StatusOr<NatState> Load() override {
    ++load_count;
    if (!load_error.ok()) return load_error;
    return state;
  }

  absl::Status Apply(const NatPlan& plan) override {
    applied.push_back(plan);
    if (!apply_error.ok() && applied.size() > apply_error_after) return apply_error;
    // Work on a copy: the batch commits only if every message succeeds.
    NatState next = state;
    if (plan.create_table) {
      // Replaces whatever table was there with Ferry's, empty.
      next = NatState{};
      next.table_present = true;
    }
    if (!next.table_present) return absl::NotFoundError("table inet ferry does not exist");
    for (const DnatKey& key : plan.dnat_delete) {
      if (next.dnat.erase(key) == 0) return absl::NotFoundError("dnat element not found");
    }
    for (const MasqKey& key : plan.masq_delete) {
      if (next.masq.erase(key) == 0) return absl::NotFoundError("masq element not found");
    }
    for (const auto& [key, target] : plan.dnat_add) next.dnat[key] = target;
    for (const auto& [key, comment] : plan.masq_add) next.masq[key] = comment;
    state = next;
    return absl::OkStatus();
  }

  NatState state;
  // Returned (with no change) by every Apply after the first
  // `apply_error_after` ones.
  absl::Status apply_error;
  size_t apply_error_after = 0;
  absl::Status load_error;
  std::vector<NatPlan> applied;
  int load_count = 0;
};

class FakeRouteBackend : public RouteBackend {
 public:
  absl::StatusOr<RouteState> Load() override {
    ++load_count;
    if (!load_error.ok()) return load_error;
    RouteState sorted = state;
    std::sort(sorted.rules.begin(), sorted.rules.end());
    std::sort(sorted.routes.begin(), sorted.routes.end());
    return sorted;
  }

  // Same order as the real backend: the marks, route adds, rule adds, rule
  // deletes, route deletes. With fail_after_messages = n, message n+1 fails.
  absl::Status Apply(const RoutePlan& plan) override {
    applied.push_back(plan);
    int sent = 0;
    auto step = [&]() -> absl::Status {
      if (fail_after_messages.has_value() && sent >= *fail_after_messages) {
        return absl::UnavailableError(absl::StrCat("injected failure at message ", sent + 1));
      }
      ++sent;
      return absl::OkStatus();
    };
    if (plan.marks.has_value()) {  // one nftables batch, as ReturnPathBackend's first
      if (absl::Status s = step(); !s.ok()) return s;
      state.marks = *plan.marks;
      state.marks_drift.clear();
    }
    for (const TableRoute& r : plan.routes_add) {
      if (absl::Status s = step(); !s.ok()) return s;
      std::erase_if(state.routes, [&](const TableRoute& x) { return x.table == r.table; });
      state.routes.push_back(r);
    }
    for (const PolicyRule& r : plan.rules_add) {
      if (absl::Status s = step(); !s.ok()) return s;
      if (std::find(state.rules.begin(), state.rules.end(), r) == state.rules.end()) {
        state.rules.push_back(r);
      }
    }
    for (const PolicyRule& r : plan.rules_delete) {
      if (absl::Status s = step(); !s.ok()) return s;
      if (std::erase(state.rules, r) == 0) return absl::NotFoundError("rule not found");
    }
    for (const TableRoute& r : plan.routes_delete) {
      if (absl::Status s = step(); !s.ok()) return s;
      if (std::erase(state.routes, r) == 0) return absl::NotFoundError("route not found");
    }
    return absl::OkStatus();
  }

  RouteState state;
  std::optional<int> fail_after_messages;
  absl::Status load_error;
  std::vector<RoutePlan> applied;
  int load_count = 0;
};

class FakeSysctlBackend : public SysctlBackend {
 public:
  absl::StatusOr<std::string> Read(const std::string& key) override {
    auto it = values.find(key);
    if (it == values.end()) return absl::NotFoundError(absl::StrCat("no sysctl ", key));
    return it->second;
  }

  absl::Status Write(const std::string& key, const std::string& value) override {
    if (!write_error.ok()) return write_error;
    if (auto it = write_errors.find(key); it != write_errors.end()) return it->second;
    writes.emplace_back(key, value);
    values[key] = value + "\n";  // /proc/sys reads back with a newline
    return absl::OkStatus();
  }

  // A node with working IPv6 unless a test says otherwise (the key is how
  // the reconciler probes for it).
  std::map<std::string, std::string> values = {{"net/ipv6/conf/all/disable_ipv6", "0\n"}};
  std::vector<std::pair<std::string, std::string>> writes;
  absl::Status write_error;                          // every write fails
  std::map<std::string, absl::Status> write_errors;  // writes of one key fail
};

}  // namespace ferry::agent::testing

#endif  // FERRY_TESTS_UNIT_AGENT_FAKE_KERNEL_H_
