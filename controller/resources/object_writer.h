#ifndef FERRY_CONTROLLER_RESOURCES_OBJECT_WRITER_H_
#define FERRY_CONTROLLER_RESOURCES_OBJECT_WRITER_H_

// The write path of the ResourceService, free of gRPC: validation,
// admission (controller/security/admission.h), server-owned metadata (uid,
// generation, creationTimestamp), status preservation, resourceVersion
// preconditions and conflict checks, then one Commit. The conflict check
// runs against an in-memory index of the stored forwards
// (StoredForwardIndex), so a request costs O(M log N), not O(N).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/resources/stored_forward_index.h"
#include "controller/security/admission.h"
#include "controller/store/commit_handoff.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class ObjectWriter {
 public:
  // `admission` (not owned; may be null: nothing beyond validation) is
  // checked for every forward of every apply, dry runs included. Each
  // commit's objects go to `handoff` (not owned; may be null).
  explicit ObjectWriter(Store* store, const Admission* admission = nullptr,
                        CommitHandoff* handoff = nullptr)
      : store_(store), admission_(admission), handoff_(handoff), forwards_(store, &mu_) {}

  // All objects or none. Errors name the object, "ipforward/web: ...":
  // INVALID_ARGUMENT (validation, admission), ABORTED (stale resourceVersion, or
  // concurrent writers won three times), ALREADY_EXISTS (conflict). Once
  // committed, the request's objects may have been moved to the hand-off.
  absl::StatusOr<ferry::v1::ApplyResponse> Apply(ferry::v1::ApplyRequest* request);

  // Returns the deleting revision. NOT_FOUND if absent; ABORTED if a given
  // `resource_version` is stale; INVALID_ARGUMENT for an event.
  absl::StatusOr<int64_t> Delete(ferry::v1::ResourceKind kind, const std::string& name,
                                 const std::string& resource_version);

 private:
  struct Attempt;

  absl::StatusOr<ferry::v1::ApplyResponse> TryApply(ferry::v1::ApplyRequest* request,
                                                    bool* lost_race)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stages the request's changed forwards in forwards_ and checks each
  // against every stored forward and the rest of the request. The caller
  // commits or unstages.
  absl::Status CheckForwardConflicts(const Attempt& attempt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The objects `attempt` committed, for the hand-off. A created forward
  // is moved out of `request`.
  static CommitHandoff::Objects HandOff(Attempt* attempt,
                                        const google::protobuf::Timestamp& created,
                                        ferry::v1::ApplyRequest* request);
  // Admission for each forward of the request; the error names the object.
  absl::Status Admit(const ferry::v1::ApplyRequest& request) const;
  // The stored Nodes, as the planner takes them: what a dry run resolves
  // its forwards against (the fleet plans with the same Nodes, updated
  // from their agents).
  struct PlannedNodes {
    std::vector<std::unique_ptr<ferry::v1::Node>> stored;
    std::map<std::string, const ferry::v1::Node*> by_name;
  };
  absl::StatusOr<PlannedNodes> ReadNodes() const;

  Store* const store_;
  const Admission* const admission_;
  CommitHandoff* const handoff_;
  // Serializes read-check-commit, so conflict checks see every accepted
  // spec; other writers (status) are caught by the commit's preconditions.
  absl::Mutex mu_;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);
  // Every stored forward's name and spec, caught up from the change log at
  // the start of each apply that holds a forward (and between applies by
  // its own thread, which takes mu_). That CatchUp may release mu_ while
  // it waits for the thread's read: it comes before anything is read.
  StoredForwardIndex forwards_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_RESOURCES_OBJECT_WRITER_H_
