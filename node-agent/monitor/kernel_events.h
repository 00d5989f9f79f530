#ifndef FERRY_NODE_AGENT_MONITOR_KERNEL_EVENTS_H_
#define FERRY_NODE_AGENT_MONITOR_KERNEL_EVENTS_H_

// Which netlink notifications concern what Ferry owns, and which nftables
// generations are known to hold only Ferry's own writes. Pure: fed with
// messages, so it is testable without a kernel.

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "node-agent/state/route_tables.h"

namespace ferry::agent {

struct NftEvent {
  enum class Kind {
    kOther,       // another table, or unparseable
    kOurTable,    // an object of table inet ferry or inet ferry_return (or the table)
    kGeneration,  // NFT_MSG_NEWGEN: the end of one committed transaction
  };
  Kind kind = Kind::kOther;
  uint32_t generation = 0;  // kGeneration only
  uint32_t pid = 0;         // kGeneration only: the committing process, 0 if unknown
};

// Classifies one message from NFNLGRP_NFTABLES. Bounds-checked throughout.
NftEvent ClassifyNftMessage(const nlmsghdr* nlh, size_t len);

// True for rule and route notifications Ferry must look at: those tagged
// with Ferry's protocol, or naming one of Ferry's routing tables. Wider than
// ownership on purpose (a foreign route in one of Ferry's tables changes
// where replies go): it only wakes a check, and the dump decides what is
// Ferry's (both tag and range, rtnl::ParseOwnRoute / ParseOwnRule).
bool IsOurRouteMessage(const nlmsghdr* nlh, size_t len, const RouteTableOptions& tables);

// True for RTM_NEWNETCONF announcing the "all" forwarding setting: the
// kernel sends it when net.ipv4.ip_forward or net.ipv6.conf.all.forwarding
// changes, so sysctl drift is event-driven too (the periodic verification
// is the safety net).
bool IsForwardingChange(const nlmsghdr* nlh, size_t len);

// The kernel names the committing *thread* (task_pid_nr), not the process:
// the agent commits from its client and monitor threads, so "ours" means any
// thread of this process. False for 0 and for threads that already exited
// (their commit then costs one extra verification, never a missed one).
bool IsThreadOfThisProcess(uint32_t tid);

// Knows the latest nftables generation whose table inet ferry is what the
// reconciler last verified or wrote itself. A transaction that touches the
// table from another process makes it unknown until the next verification,
// so a periodic check may skip the element dump only when nothing but
// Ferry changed the table since.
class GenerationTracker {
 public:
  // Whether a transaction committed by `pid` (as NFTA_GEN_PROC_PID names it)
  // was Ferry's own.
  using IsOwn = std::function<bool(uint32_t pid)>;

  explicit GenerationTracker(uint32_t own_pid)
      : is_own_([own_pid](uint32_t pid) { return pid == own_pid; }) {}
  explicit GenerationTracker(IsOwn is_own) : is_own_(std::move(is_own)) {}

  // Returns true when the message ends a foreign transaction on our table
  // that no verification has covered yet: a check is due.
  bool OnEvent(const NftEvent& event);
  // Events were lost (ENOBUFS): nothing is known any more.
  void Invalidate() { trusted_.reset(); }
  // A check compared the whole table with the kernel at `generation`.
  void Verified(uint32_t generation) { trusted_ = generation; }
  // Whether the table is known unchanged since the last verification.
  bool Unchanged(uint32_t current) const { return trusted_.has_value() && *trusted_ == current; }

 private:
  const IsOwn is_own_;
  std::optional<uint32_t> trusted_;
  bool touched_ = false;  // the open transaction touched our table
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_MONITOR_KERNEL_EVENTS_H_
