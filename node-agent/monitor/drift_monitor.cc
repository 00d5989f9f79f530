#include "node-agent/monitor/drift_monitor.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/lib/log.h"

namespace ferry::agent {
namespace {

// Large enough for the notifications of a big batch (a flushed 100k-element
// table sends one message per set, not per element, but other software may
// be busy too). Overflow is not fatal: ENOBUFS schedules a full check.
constexpr size_t kNotificationBufferBytes = 4 * 1024 * 1024;

}  // namespace

DriftMonitor::DriftMonitor(Options options, CheckFunction check, ReportFunction report)
    : options_(options),
      check_(std::move(check)),
      report_(std::move(report)),
      tracker_(options.own_pid != 0 ? GenerationTracker(static_cast<uint32_t>(options.own_pid))
                                    : GenerationTracker(IsThreadOfThisProcess)) {}

DriftMonitor::~DriftMonitor() { Stop(); }

absl::Status DriftMonitor::Start() {
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> nft =
      NetlinkSocket::Subscribe(NETLINK_NETFILTER, {NFNLGRP_NFTABLES}, kNotificationBufferBytes);
  if (!nft.ok()) return nft.status();
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> routes =
      NetlinkSocket::Subscribe(NETLINK_ROUTE,
                               {RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE, RTNLGRP_IPV4_ROUTE,
                                RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF},
                               kNotificationBufferBytes);
  if (!routes.ok()) return routes.status();
  absl::StatusOr<GenerationQuery> generation = GenerationQuery::Open();
  if (!generation.ok()) return generation.status();
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  recheck_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0 || recheck_fd_ < 0) {
    const std::string error = strerror(errno);
    if (stop_fd_ >= 0) close(stop_fd_);
    if (recheck_fd_ >= 0) close(recheck_fd_);
    stop_fd_ = recheck_fd_ = -1;
    return absl::InternalError(absl::StrCat("eventfd: ", error));
  }
  nft_events_ = *std::move(nft);
  route_events_ = *std::move(routes);
  generation_ = *std::move(generation);
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void DriftMonitor::Stop() {
  if (stop_fd_ < 0) return;
  const uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof(one)) < 0) {
    LogWarning("waking the drift monitor", {{"error", strerror(errno)}});
  }
  if (thread_.joinable()) thread_.join();
  close(stop_fd_);
  close(recheck_fd_);
  stop_fd_ = recheck_fd_ = -1;
}

void DriftMonitor::Recheck() {
  if (recheck_fd_ < 0) return;
  const uint64_t one = 1;
  if (write(recheck_fd_, &one, sizeof(one)) < 0) {
    LogWarning("waking the drift monitor for a recheck", {{"error", strerror(errno)}});
  }
}

void DriftMonitor::Loop() {
  CheckScheduler scheduler(options_.schedule, absl::Now());
  // Subscribed before this first check, so nothing that happens after it
  // goes unseen.
  RunCheck(CheckScheduler::Due{CheckKind::kPeriodic, absl::Now()});
  pollfd fds[4] = {{stop_fd_, POLLIN, 0},
                   {nft_events_->fd(), POLLIN, 0},
                   {route_events_->fd(), POLLIN, 0},
                   {recheck_fd_, POLLIN, 0}};
  while (true) {
    const absl::Duration wait = scheduler.NextDeadline() - absl::Now();
    // Round up, so a deadline 0.4 ms away is not a zero-timeout spin.
    const int timeout_ms =
        wait <= absl::ZeroDuration()
            ? 0
            : static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(wait) + 1, 60000));
    const int n = poll(fds, 4, timeout_ms);
    if (n < 0 && errno != EINTR) {
      LogError("drift monitor poll failed; stopping", {{"error", strerror(errno)}});
      return;
    }
    if (n > 0 && (fds[0].revents & POLLIN)) return;
    // The events first: the push's own nftables generation is then known
    // when its recheck runs, so the recheck can skip the element dump.
    if (n > 0) ReadEvents(scheduler);
    if (n > 0 && (fds[3].revents & POLLIN)) {
      uint64_t count = 0;
      if (read(recheck_fd_, &count, sizeof(count)) < 0 && errno != EAGAIN) {
        LogWarning("reading the recheck eventfd", {{"error", strerror(errno)}});
      }
      scheduler.OnEvent(absl::Now());
    }
    while (std::optional<CheckScheduler::Due> due = scheduler.TakeDue(absl::Now())) {
      RunCheck(*due);
    }
  }
}

void DriftMonitor::ReadEvents(CheckScheduler& scheduler) {
  const absl::Time now = absl::Now();
  bool check = false;
  if (nft_events_
          ->Drain([&](const nlmsghdr* nlh) {
            check = tracker_.OnEvent(ClassifyNftMessage(nlh, nlh->nlmsg_len)) || check;
          })
          .lost) {
    LogWarning("nftables notifications lost; verifying everything");
    tracker_.Invalidate();
    check = true;
  }
  if (route_events_
          ->Drain([&](const nlmsghdr* nlh) {
            check = IsOurRouteMessage(nlh, nlh->nlmsg_len, options_.tables) ||
                    IsForwardingChange(nlh, nlh->nlmsg_len) || check;
          })
          .lost) {
    LogWarning("route notifications lost; verifying everything");
    check = true;
  }
  if (check) scheduler.OnEvent(now);
}

void DriftMonitor::RunCheck(const CheckScheduler::Due& due) {
  DriftCheck what;
  std::optional<uint32_t> generation;
  if (due.kind == CheckKind::kSysctl) {
    what.nat = false;
    what.routes = false;
  } else {
    absl::StatusOr<uint32_t> current = generation_->Current();
    if (current.ok()) generation = *current;
    // The element dump is the expensive part: skip it when the ruleset
    // generation shows nothing but Ferry touched the table since the last
    // verification.
    what.nat = !(generation.has_value() && tracker_.Unchanged(*generation));
  }
  const DriftOutcome outcome = check_(what);
  checks_.fetch_add(1);
  if (what.nat) nat_dumps_.fetch_add(1);
  if (!outcome.error.ok()) {
    LogWarning("drift check failed", {{"trigger", CheckTrigger(due.kind)},
                                      {"error", std::string(outcome.error.message())}});
    return;
  }
  if (what.nat && generation.has_value() && outcome.checked) {
    // A repair is Ferry's own write: its generation arrives as an event
    // with our pid and advances the tracker from here.
    tracker_.Verified(*generation);
  }
  std::optional<ferry::v1::DriftReport> report =
      reporter_.OnOutcome(outcome, CheckTrigger(due.kind), due.first_event);
  if (report.has_value() && report_) report_(*report);
}

}  // namespace ferry::agent
