#include "controller/store/store.h"

#include <string_view>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ferry::controller {

std::string StoreKey(const std::string& kind, const std::string& name) {
  return absl::StrCat(kind, "/", name);
}

absl::Status ValidateWriteOps(const std::vector<WriteOp>& ops) {
  // Views into `ops`: a 100k-op commit checks its keys without copying them.
  absl::flat_hash_set<std::pair<std::string_view, std::string_view>> keys;
  keys.reserve(ops.size());
  for (const WriteOp& op : ops) {
    if (op.kind.empty() || op.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("write op ", StoreKey(op.kind, op.name),
                                                     ": kind and name must not be empty"));
    }
    if (op.expected_revision < WriteOp::kAnyRevision) {
      return absl::InvalidArgumentError(absl::StrCat("write op ", StoreKey(op.kind, op.name),
                                                     ": expected_revision ", op.expected_revision,
                                                     " is negative"));
    }
    if (!keys.emplace(op.kind, op.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("write op ", StoreKey(op.kind, op.name),
                                                     ": key written twice in one commit"));
    }
  }
  return absl::OkStatus();
}

StoreWait WaitForStoreChange(Store& store, int64_t after, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  if (store.WaitForChange(after, timeout)) return StoreWait::kChanged;
  // Back well before the timeout with no change: only StopWaiting does that.
  return absl::Now() - start < timeout / 2 ? StoreWait::kStopped : StoreWait::kTimedOut;
}

}  // namespace ferry::controller
