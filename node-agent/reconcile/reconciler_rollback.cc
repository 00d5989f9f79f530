// Reconciler: undoing a push that failed after changing the kernel, so a
// NACK leaves the node in the previous good state (as an xDS NACK keeps
// the previous version in force).

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "node-agent/reconcile/diff.h"
#include "node-agent/reconcile/reconciler.h"

namespace ferry::agent {
namespace {

absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// Sets or erases `key` in `m` to match `source`.
void CopyKey(const std::string& key, const std::map<std::string, std::string>& source,
             std::map<std::string, std::string>& m) {
  auto it = source.find(key);
  if (it == source.end()) {
    m.erase(key);
  } else {
    m.insert_or_assign(key, it->second);
  }
}

}  // namespace

Reconciler::Undo Reconciler::StartUndo() const {
  Undo undo;
  undo.intent_sysctls = intent_.sysctls;
  undo.sysctl_original = sysctl_original_;
  return undo;
}

Reconciler::RollbackResult Reconciler::RollBack(const Undo& undo) {
  RollbackResult result;
  auto note = [&](const absl::Status& s) {
    if (result.status.ok()) result.status = s;
  };

  // Sysctls, newest write first. A key whose write cannot be undone keeps
  // the push's bookkeeping, since the push's value is what it holds.
  std::set<std::string> stuck;
  for (auto it = undo.sysctl_writes.rbegin(); it != undo.sysctl_writes.rend(); ++it) {
    const auto& [key, before] = *it;
    if (absl::Status s = sysctls_->Write(key, before); !s.ok()) {
      note(Annotate(s, absl::StrCat("putting back ", key, "=", before)));
      stuck.insert(key);
    }
  }
  const std::map<std::string, std::string> pushed_sysctls = intent_.sysctls;
  const std::map<std::string, std::string> pushed_original = sysctl_original_;
  intent_.sysctls = undo.intent_sysctls;
  sysctl_original_ = undo.sysctl_original;
  for (const std::string& key : stuck) {
    CopyKey(key, pushed_sysctls, intent_.sysctls);
    CopyKey(key, pushed_original, sysctl_original_);
  }

  // Rules and routes, message by message, from what the kernel holds now.
  if (undo.routes_kernel.has_value()) {
    absl::Status s;
    if (undo.routes_unknown) {
      absl::StatusOr<RouteState> actual = routes_->Load();
      if (actual.ok()) {
        routes_kernel_ = *std::move(actual);
      } else {
        s = Annotate(actual.status(), "re-reading rules and routes");
      }
    }
    if (s.ok()) {
      const RoutePlan plan = DiffRoutes(routes_kernel_, *undo.routes_kernel);
      if (!plan.empty()) s = routes_->Apply(plan);
      if (!s.ok()) s = Annotate(s, "putting back rules and routes");
    }
    if (s.ok()) {
      routes_kernel_ = *undo.routes_kernel;
      intent_.routes = undo.intent_routes;
      routes_stale_ = undo.routes_stale;
    } else {
      note(s);
      // The next push recomputes every rule and route from the truth.
      if (absl::StatusOr<RouteState> actual = routes_->Load(); actual.ok()) {
        routes_kernel_ = *std::move(actual);
      }
      intent_.routes = routes_kernel_;
      routes_stale_ = true;
    }
  }

  // NAT last, in one batch: the elements of the push go in one
  // transaction, as they came.
  result.nat_restored = true;
  if (!undo.nat.empty()) {
    if (absl::Status s = nat_->Apply(undo.nat); s.ok()) {
      nat_kernel_ = NatStateAfter(std::move(nat_kernel_), undo.nat);
    } else {
      note(Annotate(s, "putting back nftables elements"));
      result.nat_restored = false;
    }
  }
  if (result.status.ok()) {
    LogInfo("rolled back failed push", {{"version", version_}});
  } else {
    LogError("rolling back a failed push failed; kernel state is partial",
             {{"version", version_}, {"error", std::string(result.status.message())}});
  }
  return result;
}

std::string Reconciler::RollbackMessage(const absl::Status& error,
                                        const absl::Status& rollback) const {
  const std::string previous = version_.empty() ? std::string("the state before this push")
                                                : absl::StrCat("version \"", version_, "\"");
  if (rollback.ok()) {
    return absl::StrCat(error.message(), "; rolled back: the kernel holds ", previous, " again");
  }
  return absl::StrCat(error.message(), "; rolling back to ", previous,
                      " also failed, so the kernel state is partial (part this push, part ",
                      previous, "; the next full config repairs it): ", rollback.message());
}

}  // namespace ferry::agent
