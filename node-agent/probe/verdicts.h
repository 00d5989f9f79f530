#ifndef FERRY_NODE_AGENT_PROBE_VERDICTS_H_
#define FERRY_NODE_AGENT_PROBE_VERDICTS_H_

// A forward's data-path verdict from the probes of its rules, and which
// verdicts the controller has yet to hear: a verdict is reported when its
// status, reason or generation differs from the last one reported, and
// every verdict in a full report. Pure, not thread-safe.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/probe/prober.h"

namespace ferry::agent {

struct Verdict {
  int64_t generation = 0;
  ProbeResult result;
  absl::Time checked_at;
};

// The verdict of a forward whose rules' probes found `results` (one per
// rule, none missing): all True: True, with the first rule's message;
// any False: False, with the first False's message; else Unknown, with
// the first Unknown's message.
Verdict Combine(int64_t generation, const std::vector<const ProbeResult*>& results,
                absl::Time checked_at);

// The wire form of a forward's verdict.
ferry::v1::DataPathVerdict ToProto(const std::string& forward, const Verdict& verdict);

class VerdictBook {
 public:
  // Records a forward's new verdict; it is a change if its status or
  // generation differs from the one last reported (the reason follows
  // the status).
  void Set(const std::string& forward, Verdict verdict);
  // Forgets a forward that is no longer probed: it is never reported
  // again, and its change is dropped if not yet taken.
  void Remove(const std::string& forward);

  // The verdicts changed since the last Take, by forward name; each is
  // then taken as reported.
  std::vector<ferry::v1::DataPathVerdict> TakeChanges();
  // Every verdict, by forward name; all are then taken as reported.
  std::vector<ferry::v1::DataPathVerdict> TakeAll();

  const Verdict* Find(const std::string& forward) const;
  size_t size() const { return entries_.size(); }
  size_t changes() const { return changed_.size(); }

 private:
  struct Reported {
    ProbeStatus status;
    int64_t generation;
  };
  struct Entry {
    Verdict current;
    std::optional<Reported> reported;
  };

  // `entry`'s verdict, now taken as reported.
  static ferry::v1::DataPathVerdict Take(const std::string& forward, Entry& entry);

  absl::flat_hash_map<std::string, Entry> entries_;
  std::set<std::string> changed_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_PROBE_VERDICTS_H_
