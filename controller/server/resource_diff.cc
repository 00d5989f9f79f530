// ResourceService.Diff: what applying objects would change in each
// affected node's kernel, answered by the node's own agent. The request is
// checked exactly as a dry-run apply is, the affected nodes come from the
// planner (controller/resources/config_preview.h), and the agents are asked
// through PlanRequests. Nothing is written.

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/lib/grpc_status.h"
#include "api/lib/log.h"
#include "api/lib/objects.h"
#include "controller/resources/config_preview.h"
#include "controller/server/resource_service.h"

namespace ferry::controller {
namespace {

// Until when the agents may answer: `wait` from now, but early enough
// before the call's own deadline to send what did arrive (a fifth of the
// time left, at most a second).
absl::Time AnswerDeadline(absl::Time now, const grpc::ServerContext& context, absl::Duration wait) {
  absl::Time deadline = now + wait;
  if (context.deadline() != std::chrono::system_clock::time_point::max()) {
    const absl::Duration left = absl::FromChrono(context.deadline()) - now;
    deadline = std::min(deadline, now + left - std::min(absl::Seconds(1), left / 5));
  }
  return deadline;
}

// Keeps the lines of `response` within `max_bytes`, nodes in name order: the
// lines of a node past the budget are replaced by one that counts them.
void BoundLines(size_t max_bytes, ferry::v1::DiffResponse* response) {
  size_t bytes = 0;
  for (ferry::v1::NodeDiff& node : *response->mutable_nodes()) {
    int kept = 0;
    while (kept < node.lines_size() && bytes + node.lines(kept).size() <= max_bytes) {
      bytes += node.lines(kept).size();
      ++kept;
    }
    if (kept == node.lines_size()) continue;
    const int dropped = node.lines_size() - kept;
    node.mutable_lines()->DeleteSubrange(kept, dropped);
    node.add_lines(absl::StrCat("... ", dropped, " more lines not shown"));
    bytes = max_bytes;  // and none of the nodes after
  }
}

}  // namespace

grpc::Status ResourceServiceImpl::Diff(grpc::ServerContext* context,
                                       const ferry::v1::ApplyRequest* request,
                                       ferry::v1::DiffResponse* response) {
  // The same right as a dry-run apply of the objects.
  const Principal who = Caller(*context);
  if (absl::Status denied = AuthorizeApply(who, *request); !denied.ok()) {
    if (request->objects_size() == 0)
      Audit(who, "diff", "", "", "", false, "denied", denied.message());
    for (const ferry::v1::Object& object : request->objects()) {
      Audit(who, "diff", api::KindName(object), api::ObjectName(object), "", false, "denied",
            denied.message());
    }
    LogDenial(who, denied);
    return api::ToGrpcStatus(denied);
  }
  // Asking agents costs more than a dry run, which is limited as a write.
  if (grpc::Status s = CheckWriteLimit(context, who, "Diff"); !s.ok()) return s;

  // Validation, admission, resourceVersions and conflicts, exactly as the
  // dry run has them: a request that could not be applied has no diff.
  ferry::v1::ApplyRequest checked = *request;
  checked.set_dry_run(true);
  if (absl::StatusOr<ferry::v1::ApplyResponse> dry = writer_.Apply(&checked); !dry.ok()) {
    return api::ToGrpcStatus(dry.status());
  }
  absl::StatusOr<std::map<std::string, ferry::v1::NodeConfig>> configs =
      ChangedConfigs(store_, *request);
  if (!configs.ok()) return api::ToGrpcStatus(configs.status());

  const absl::Time start = absl::Now();
  PlanRequests::Answers answers;
  if (options_.plans != nullptr && !configs->empty()) {
    answers = options_.plans->Ask(*configs, AnswerDeadline(start, *context, options_.diff_wait),
                                  [context] { return context->IsCancelled(); });
  }
  int unknown = 0;
  for (const auto& [node, config] : *configs) {
    ferry::v1::NodeDiff* diff = response->add_nodes();
    diff->set_node(node);
    auto answer = answers.find(node);
    if (answer == answers.end()) {
      diff->set_error("this controller cannot ask agents for diffs");
    } else if (!answer->second.ok()) {
      diff->set_error(std::string(answer->second.status().message()));
    } else {
      for (std::string& line : *answer->second) diff->add_lines(std::move(line));
    }
    unknown += diff->error().empty() ? 0 : 1;
  }
  BoundLines(options_.max_diff_bytes, response);
  LogInfo("diff", {{"objects", absl::StrCat(request->objects_size())},
                   {"nodes", absl::StrCat(response->nodes_size())},
                   {"unknown", absl::StrCat(unknown)},
                   {"wait_ms", absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - start))},
                   {"user", who.name}});
  return grpc::Status::OK;
}

}  // namespace ferry::controller
