#ifndef FERRY_NODE_AGENT_PROBE_PROBE_SCHEDULER_H_
#define FERRY_NODE_AGENT_PROBE_PROBE_SCHEDULER_H_

// Decides when each probed DNAT rule is probed, and what the controller is
// told (see README.md):
//  - right away (before any periodic probe): every rule of a forward whose
//    probes changed in an applied push (new, another generation or
//    target), and every rule of a forward whose drift was repaired;
//  - periodically: each rule every period after its last probe started;
//    when the rate limit cannot keep up, overdue rules go in due order, so
//    every period stretches alike;
//  - at most Options::rate probe starts per second (a token bucket of a
//    tenth of a second's worth, at least 1) and max_in_flight probes at once.
// A rule's first probe that fails is probed once more confirm_delay later
// before it counts: a push reaches the frontend and the backend at about
// the same time, and the backend's half may land a moment later.
// A forward's verdict (verdicts.h) is made once each of its rules has a
// result for its current generation; until then its previous verdict
// stands. Reports: the changed verdicts after each result, and every
// verdict after each Connected() (the first message flagged full; one of
// more than max_verdicts_per_report verdicts goes as several). A forward
// that is no longer probed is forgotten: nothing more is sent for it, and
// the next full report leaves it out.
//
// Every container is bounded by the rules the node holds: each rule is in
// exactly one place (the due schedule, the urgent queue, or in flight).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/probe/probe_targets.h"
#include "node-agent/probe/prober.h"
#include "node-agent/probe/verdicts.h"

namespace ferry::agent {

class ProbeScheduler {
 public:
  struct Options {
    double rate = 200;  // probe starts per second (--probe-rate)
    // A rule's period when its probe_period_seconds is 0 (--probe-period).
    absl::Duration period = kDefaultProbePeriod;
    size_t max_in_flight = 64;
    absl::Duration confirm_delay = absl::Seconds(1);
    size_t max_verdicts_per_report = 4096;
  };
  // Sends one report; false if it could not be sent (no stream). A lost
  // change is covered by the full report after the next Connected().
  using Report = std::function<bool(const ferry::v1::DataPathReport&)>;
  using Clock = std::function<absl::Time()>;

  // `prober` must outlive the scheduler, and must not call back after the
  // scheduler is destroyed (stop it first). `clock` defaults to absl::Now;
  // the thread (Start) waits in real time, so tests with another clock
  // drive RunOnce themselves.
  ProbeScheduler(Prober* prober, Report report, Options options, Clock clock = nullptr);
  ~ProbeScheduler();

  ProbeScheduler(const ProbeScheduler&) = delete;
  ProbeScheduler& operator=(const ProbeScheduler&) = delete;

  // A push was applied (the kernel holds it). The forwards whose probes
  // changed are probed right away; forwards no longer probed are
  // forgotten. A full config replaces everything. O(the push's entries).
  // Safe from any thread.
  void Applied(const ferry::v1::NodeConfig& config);
  void Applied(const ferry::v1::NodeConfigDelta& delta);
  // A drift repair put these forwards' kernel state back (or, All, the
  // whole table): probe their rules right away, again if one is running.
  void Repaired(const std::set<std::string>& forwards);
  void RepairedAll();
  // A new stream to the controller is open: send every verdict, full.
  void Connected();

  // Starts due probes within the limits and sends pending reports, on the
  // calling thread; returns when it next has work (InfiniteFuture: only
  // news wakes it). What the thread runs; tests call it directly.
  absl::Time RunOnce();

  // The thread that runs RunOnce whenever it is due or woken. Idempotent.
  void Start();
  // Joins the thread. Probes in flight complete into the scheduler (the
  // prober must still be stopped before the scheduler is destroyed).
  void Stop();

  // For tests and logs.
  size_t rules() const;
  size_t in_flight() const;
  std::optional<Verdict> VerdictOf(const std::string& forward) const;

 private:
  // A rule's forward name and target are held once: the name is the key in
  // forwards_ (a node map, so the pointer stays valid until Forget, which
  // drops the rule first), the target only here.
  struct RuleState {
    const std::string* forward = nullptr;
    ProbeRule rule;
    std::optional<ProbeResult> result;  // for the current generation
    std::optional<absl::Time> due;      // set: in schedule_ at this time
    uint64_t urgent = 0;                // nonzero: in urgent_ under this key
    uint64_t probe = 0;                 // nonzero: the probe in flight
    absl::Time started;                 // of the last probe
    bool again = false;                 // probe again once the running one ends
    bool confirming = false;            // a first failure is being probed again
  };
  struct ForwardState {
    int64_t generation = 0;
    std::vector<uint64_t> rule_ids;  // its ForwardProbes::rules, in order
  };
  struct Launch {
    ProbeTarget target;
    uint64_t rule_id;
    uint64_t probe;
  };

  // The forward's probes are now `probes`: unchanged ones are kept, others
  // replaced by new rules probed right away (the verdict stands until the
  // new rules have results).
  void Replace(const std::string& forward, ForwardProbes probes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Forget(const std::string& forward) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `state` already probes exactly `probes`.
  bool Same(const ForwardState& state, const ForwardProbes& probes) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropRules(ForwardState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProbeNow(uint64_t rule_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Schedule(uint64_t rule_id, absl::Time due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes the rule out of schedule_ or urgent_, wherever it is.
  void Unqueue(uint64_t rule_id, RuleState& rule) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The next rule to probe at `now`, taken out of its queue.
  std::optional<uint64_t> TakeDue(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Refill(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time NextWake(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<ferry::v1::DataPathReport> TakeReports() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateVerdict(const std::string& forward, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnResult(uint64_t rule_id, uint64_t probe, ProbeResult result);
  void Loop();
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return woken_ || stopping_; }

  Prober* const prober_;
  const Report report_;
  const Options options_;
  const Clock clock_;
  const double burst_;  // the token bucket's size

  mutable absl::Mutex mu_;
  absl::node_hash_map<std::string, ForwardState> forwards_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, RuleState> rules_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<absl::Time, uint64_t>> schedule_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, uint64_t> urgent_ ABSL_GUARDED_BY(mu_);  // key -> rule id, FIFO
  uint64_t next_rule_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_urgent_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_probe_ ABSL_GUARDED_BY(mu_) = 1;
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  double tokens_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Time> refilled_ ABSL_GUARDED_BY(mu_);
  VerdictBook verdicts_ ABSL_GUARDED_BY(mu_);
  bool full_due_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_PROBE_PROBE_SCHEDULER_H_
