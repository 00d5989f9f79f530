#ifndef FERRY_API_OBSERVABILITY_METRICS_H_
#define FERRY_API_OBSERVABILITY_METRICS_H_

// A small Prometheus metrics registry (text exposition format 0.0.4).
//
// Families are registered once at start; children are looked up by label
// values and their pointers stay valid for the registry's lifetime (unless
// Remove()d), so hot paths cache the child and pay only an atomic op:
//
//   auto* applied = registry.AddCounter("ferry_applies_total", "...",
//                                       {"node", "backend"}).value();
//   Counter* c = applied->WithLabels({"node-a", "nftables"});
//   c->Increment();
//
// Render() is deterministic: families sorted by name, children by label
// values, so tests can compare exact text.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace ferry::observability {

// Upper bounds (seconds) for apply latency: 5 ms .. 10 s.
std::vector<double> DefaultLatencyBuckets();

class Counter {
 public:
  // Negative deltas are ignored: a counter only goes up.
  void Increment(double delta = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` must be sorted and strictly increasing (Registry checks).
  explicit Histogram(const std::vector<double>& bounds);

  void Observe(double value);

  // A consistent-enough copy for rendering; `cumulative` has one entry per
  // bound plus the +Inf bucket, and its last entry is the count.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  // Per-bucket (not cumulative) counts; the last slot is +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// One metric name with its label names and a child per label-value tuple.
template <typename Child>
class Family {
 public:
  using Factory = std::function<std::unique_ptr<Child>()>;
  Family(std::vector<std::string> label_names, Factory factory)
      : label_names_(std::move(label_names)), factory_(std::move(factory)) {}

  // Returns the child for these label values, creating it on first use.
  // Passing the wrong number of values is a programming error: it is logged
  // and a detached child (never rendered) is returned, so callers never
  // crash on a nullptr.
  Child* WithLabels(const std::vector<std::string>& values);

  // Drops a child (e.g. for a deleted node). Pointers to it become invalid.
  void Remove(const std::vector<std::string>& values);

  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls `visit` for each child in label-value order, under the lock.
  void ForEach(
      const std::function<void(const std::vector<std::string>&, const Child&)>& visit) const;

 private:
  const std::vector<std::string> label_names_;
  const Factory factory_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Child> detached_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  // Each Add* returns INVALID_ARGUMENT naming the bad field (metric name,
  // label name, bucket bounds) or ALREADY_EXISTS for a duplicate name.
  // Returned families live as long as the registry.
  absl::StatusOr<CounterFamily*> AddCounter(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names = {});
  absl::StatusOr<GaugeFamily*> AddGauge(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names = {});
  absl::StatusOr<HistogramFamily*> AddHistogram(
      const std::string& name, const std::string& help, std::vector<std::string> label_names,
      std::vector<double> bounds = DefaultLatencyBuckets());

  // Runs before every Render(), e.g. to set "forwards by condition" gauges
  // from current state or to mirror another component's counters.
  void AddCollectHook(std::function<void()> hook);

  // Text exposition format 0.0.4.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Entry {
    Type type;
    std::string help;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
  };
  absl::Status Validate(const std::string& name, const std::vector<std::string>& label_names) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RenderEntry(const std::string& name, const Entry& entry, std::string* out);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> hooks_ ABSL_GUARDED_BY(mu_);
};

// Exposed for tests and for other text producers.
std::string EscapeLabelValue(const std::string& value);
std::string FormatMetricValue(double value);

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_METRICS_H_
