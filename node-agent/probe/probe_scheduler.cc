#include "node-agent/probe/probe_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/lib/log.h"

namespace ferry::agent {

ProbeScheduler::ProbeScheduler(Prober* prober, Report report, Options options, Clock clock)
    : prober_(prober),
      report_(std::move(report)),
      options_(options),
      clock_(clock ? std::move(clock) : Clock([] { return absl::Now(); })),
      burst_(std::max(1.0, options.rate / 10)) {}

ProbeScheduler::~ProbeScheduler() { Stop(); }

void ProbeScheduler::Applied(const ferry::v1::NodeConfig& config) {
  absl::flat_hash_map<std::string, ForwardProbes> probes = ProbesOf(config, options_.period);
  absl::MutexLock lock(&mu_);
  std::vector<std::string> gone;
  for (const auto& [forward, state] : forwards_) {
    if (!probes.contains(forward)) gone.push_back(forward);
  }
  for (const std::string& forward : gone) Forget(forward);
  // By name, so the first round's order does not depend on hashing.
  std::vector<std::string> names;
  names.reserve(probes.size());
  for (const auto& [forward, forward_probes] : probes) names.push_back(forward);
  std::sort(names.begin(), names.end());
  for (const std::string& forward : names) Replace(forward, std::move(probes.at(forward)));
  woken_ = true;
}

void ProbeScheduler::Applied(const ferry::v1::NodeConfigDelta& delta) {
  std::map<std::string, std::optional<ForwardProbes>> probes = ProbesOf(delta, options_.period);
  absl::MutexLock lock(&mu_);
  for (auto& [forward, forward_probes] : probes) {
    if (forward_probes.has_value()) {
      Replace(forward, *std::move(forward_probes));
    } else {
      Forget(forward);
    }
  }
  woken_ = true;
}

void ProbeScheduler::Repaired(const std::set<std::string>& forwards) {
  absl::MutexLock lock(&mu_);
  for (const std::string& forward : forwards) {
    auto it = forwards_.find(forward);
    if (it == forwards_.end()) continue;
    for (uint64_t id : it->second.rule_ids) ProbeNow(id);
  }
  woken_ = true;
}

void ProbeScheduler::RepairedAll() {
  absl::MutexLock lock(&mu_);
  for (const auto& [forward, state] : forwards_) {
    for (uint64_t id : state.rule_ids) ProbeNow(id);
  }
  woken_ = true;
}

void ProbeScheduler::Connected() {
  absl::MutexLock lock(&mu_);
  full_due_ = true;
  woken_ = true;
}

void ProbeScheduler::Replace(const std::string& forward, ForwardProbes probes) {
  auto it = forwards_.find(forward);
  if (it != forwards_.end()) {
    if (Same(it->second, probes)) return;
    DropRules(it->second);
  } else {
    it = forwards_.emplace(forward, ForwardState{}).first;
  }
  ForwardState& state = it->second;
  state.generation = probes.generation;
  state.rule_ids.clear();
  for (ProbeRule& rule : probes.rules) {
    const uint64_t id = next_rule_id_++;
    RuleState& r = rules_[id];
    r.forward = &it->first;
    r.rule = std::move(rule);
    state.rule_ids.push_back(id);
    ProbeNow(id);
  }
}

bool ProbeScheduler::Same(const ForwardState& state, const ForwardProbes& probes) const {
  if (state.generation != probes.generation || state.rule_ids.size() != probes.rules.size()) {
    return false;
  }
  for (size_t i = 0; i < probes.rules.size(); ++i) {
    if (rules_.at(state.rule_ids[i]).rule != probes.rules[i]) return false;
  }
  return true;
}

void ProbeScheduler::Forget(const std::string& forward) {
  auto it = forwards_.find(forward);
  if (it != forwards_.end()) {
    DropRules(it->second);
    forwards_.erase(it);
  }
  verdicts_.Remove(forward);
}

void ProbeScheduler::DropRules(ForwardState& state) {
  for (uint64_t id : state.rule_ids) {
    auto it = rules_.find(id);
    if (it == rules_.end()) continue;
    // A probe in flight ends in OnResult, which finds no rule.
    Unqueue(id, it->second);
    rules_.erase(it);
  }
  state.rule_ids.clear();
}

void ProbeScheduler::ProbeNow(uint64_t id) {
  RuleState& rule = rules_.at(id);
  if (rule.probe != 0) {
    rule.again = true;
    return;
  }
  if (rule.urgent != 0) return;
  Unqueue(id, rule);
  rule.urgent = next_urgent_++;
  urgent_.emplace(rule.urgent, id);
}

void ProbeScheduler::Schedule(uint64_t id, absl::Time due) {
  RuleState& rule = rules_.at(id);
  Unqueue(id, rule);
  rule.due = due;
  schedule_.emplace(due, id);
}

void ProbeScheduler::Unqueue(uint64_t id, RuleState& rule) {
  if (rule.due.has_value()) {
    schedule_.erase({*rule.due, id});
    rule.due.reset();
  }
  if (rule.urgent != 0) {
    urgent_.erase(rule.urgent);
    rule.urgent = 0;
  }
}

std::optional<uint64_t> ProbeScheduler::TakeDue(absl::Time now) {
  if (!urgent_.empty()) {
    const uint64_t id = urgent_.begin()->second;
    urgent_.erase(urgent_.begin());
    rules_.at(id).urgent = 0;
    return id;
  }
  if (!schedule_.empty() && schedule_.begin()->first <= now) {
    const uint64_t id = schedule_.begin()->second;
    schedule_.erase(schedule_.begin());
    rules_.at(id).due.reset();
    return id;
  }
  return std::nullopt;
}

void ProbeScheduler::Refill(absl::Time now) {
  if (!refilled_.has_value()) {
    tokens_ = options_.rate > 0 ? burst_ : 0;
  } else if (now > *refilled_) {
    tokens_ = std::min(burst_, tokens_ + options_.rate * absl::ToDoubleSeconds(now - *refilled_));
  }
  refilled_ = now;
}

absl::Time ProbeScheduler::NextWake(absl::Time now) const {
  if (in_flight_ >= options_.max_in_flight || options_.rate <= 0) {
    return absl::InfiniteFuture();  // a result or news wakes it
  }
  absl::Time ready;
  if (!urgent_.empty()) {
    ready = now;
  } else if (!schedule_.empty()) {
    ready = schedule_.begin()->first;
  } else {
    return absl::InfiniteFuture();
  }
  if (tokens_ < 1) ready = std::max(ready, now + absl::Seconds((1 - tokens_) / options_.rate));
  return std::max(ready, now);
}

void ProbeScheduler::UpdateVerdict(const std::string& forward, absl::Time now) {
  auto it = forwards_.find(forward);
  if (it == forwards_.end()) return;
  std::vector<const ProbeResult*> results;
  results.reserve(it->second.rule_ids.size());
  for (uint64_t id : it->second.rule_ids) {
    const RuleState& rule = rules_.at(id);
    if (!rule.result.has_value()) return;  // the previous verdict stands until all are in
    results.push_back(&*rule.result);
  }
  Verdict verdict = Combine(it->second.generation, results, now);
  const Verdict* before = verdicts_.Find(forward);
  const bool failed_before = before != nullptr && before->result.status == ProbeStatus::kFalse;
  if (verdict.result.status == ProbeStatus::kFalse && !failed_before) {
    LogWarning("data path probe failed", {{"forward", forward},
                                          {"generation", absl::StrCat(verdict.generation)},
                                          {"message", verdict.result.message}});
  } else if (verdict.result.status != ProbeStatus::kFalse && failed_before) {
    LogInfo("data path probe passes again", {{"forward", forward},
                                             {"status", StatusName(verdict.result.status)},
                                             {"message", verdict.result.message}});
  }
  verdicts_.Set(forward, std::move(verdict));
}

void ProbeScheduler::OnResult(uint64_t id, uint64_t probe, ProbeResult result) {
  absl::MutexLock lock(&mu_);
  --in_flight_;
  woken_ = true;
  auto it = rules_.find(id);
  if (it == rules_.end() || it->second.probe != probe) return;  // replaced or forgotten meanwhile
  RuleState& rule = it->second;
  rule.probe = 0;
  const absl::Time now = clock_();
  if (result.status == ProbeStatus::kFalse && !rule.result.has_value() && !rule.confirming) {
    // A new rule's first failure: probe once more before it counts.
    rule.confirming = true;
    if (rule.again) {
      rule.again = false;
      ProbeNow(id);
    } else {
      Schedule(id, now + options_.confirm_delay);
    }
    return;
  }
  rule.result = std::move(result);
  if (rule.again) {
    rule.again = false;
    ProbeNow(id);
  } else {
    Schedule(id, std::max(now, rule.started + rule.rule.period));
  }
  UpdateVerdict(*rule.forward, now);
}

std::vector<ferry::v1::DataPathReport> ProbeScheduler::TakeReports() {
  std::vector<ferry::v1::DataPathVerdict> verdicts;
  const bool full = full_due_;
  if (full) {
    verdicts = verdicts_.TakeAll();
    full_due_ = false;
  } else if (verdicts_.changes() > 0) {
    verdicts = verdicts_.TakeChanges();
  } else {
    return {};
  }
  std::vector<ferry::v1::DataPathReport> out;
  const size_t per_report = std::max<size_t>(1, options_.max_verdicts_per_report);
  for (size_t i = 0; i < verdicts.size() || (full && out.empty()); i += per_report) {
    ferry::v1::DataPathReport& report = out.emplace_back();
    // Every part of a full report says so, and all but the last that
    // more follow: the controller drops what it holds only at the end.
    const size_t end = std::min(verdicts.size(), i + per_report);
    report.set_full(full);
    report.set_more(full && end < verdicts.size());
    report.mutable_verdicts()->Reserve(static_cast<int>(end - i));
    for (size_t j = i; j < end; ++j) *report.add_verdicts() = std::move(verdicts[j]);
  }
  return out;
}

absl::Time ProbeScheduler::RunOnce() {
  std::vector<Launch> launches;
  std::vector<ferry::v1::DataPathReport> reports;
  absl::Time next;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_();
    Refill(now);
    while (in_flight_ < options_.max_in_flight && tokens_ >= 1) {
      std::optional<uint64_t> id = TakeDue(now);
      if (!id.has_value()) break;
      RuleState& rule = rules_.at(*id);
      rule.probe = next_probe_++;
      rule.started = now;
      ++in_flight_;
      tokens_ -= 1;
      launches.push_back(Launch{rule.rule.target, *id, rule.probe});
    }
    reports = TakeReports();
    next = NextWake(now);
  }
  // Outside the lock: a probe that cannot start reports inside Probe.
  for (const Launch& launch : launches) {
    prober_->Probe(launch.target,
                   [this, id = launch.rule_id, probe = launch.probe](ProbeResult result) {
                     OnResult(id, probe, std::move(result));
                   });
  }
  for (const ferry::v1::DataPathReport& report : reports) {
    if (!report_(report)) {
      LogDebug("data path report not sent: no stream; the next connection sends them all",
               {{"verdicts", absl::StrCat(report.verdicts_size())},
                {"full", report.full() ? "true" : "false"}});
    }
  }
  return next;
}

void ProbeScheduler::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void ProbeScheduler::Loop() {
  while (true) {
    const absl::Time next = RunOnce();
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    mu_.AwaitWithDeadline(absl::Condition(this, &ProbeScheduler::Woken), next);
    if (stopping_) return;
    woken_ = false;
  }
}

void ProbeScheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

size_t ProbeScheduler::rules() const {
  absl::MutexLock lock(&mu_);
  return rules_.size();
}

size_t ProbeScheduler::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

std::optional<Verdict> ProbeScheduler::VerdictOf(const std::string& forward) const {
  absl::MutexLock lock(&mu_);
  const Verdict* v = verdicts_.Find(forward);
  if (v == nullptr) return std::nullopt;
  return *v;
}

}  // namespace ferry::agent
