#include "api/observability/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lib/log.h"

namespace ferry::observability {
namespace {

void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

bool IsNameStart(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty() || !IsNameStart(name[0], allow_colon)) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return IsNameStart(c, allow_colon) || (c >= '0' && c <= '9'); });
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}`, with an optional extra pair (the histogram's `le`).
std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra_name = "", const std::string& extra_value = "") {
  std::vector<std::string> pairs;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    pairs.push_back(absl::StrCat(names[i], "=\"", EscapeLabelValue(values[i]), "\""));
  }
  if (!extra_name.empty()) {
    pairs.push_back(absl::StrCat(extra_name, "=\"", extra_value, "\""));
  }
  if (pairs.empty()) return "";
  return absl::StrCat("{", absl::StrJoin(pairs, ","), "}");
}

}  // namespace

std::vector<double> DefaultLatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Shortest text that reads back as the same double: 1, 0.005, 2.5e-07.
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

void Counter::Increment(double delta) {
  if (delta < 0 || std::isnan(delta)) return;
  AtomicAdd(value_, delta);
}

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  // `le` is inclusive: the first bound >= value.
  size_t index = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

template <typename Child>
Child* Family<Child>::WithLabels(const std::vector<std::string>& values) {
  absl::MutexLock lock(&mu_);
  if (values.size() != label_names_.size()) {
    LogError("metric child requested with the wrong number of label values",
             {{"want", absl::StrCat(label_names_.size())},
              {"got", absl::StrCat(values.size())},
              {"labels", absl::StrJoin(label_names_, ",")}});
    if (detached_ == nullptr) detached_ = factory_();
    return detached_.get();
  }
  auto& child = children_[values];
  if (child == nullptr) child = factory_();
  return child.get();
}

template <typename Child>
void Family<Child>::Remove(const std::vector<std::string>& values) {
  absl::MutexLock lock(&mu_);
  children_.erase(values);
}

template <typename Child>
void Family<Child>::ForEach(
    const std::function<void(const std::vector<std::string>&, const Child&)>& visit) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) visit(values, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

absl::Status Registry::Validate(const std::string& name,
                                const std::vector<std::string>& label_names) const {
  if (!IsValidName(name, /*allow_colon=*/true)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric name \"", name, "\" must match [a-zA-Z_:][a-zA-Z0-9_:]*"));
  }
  if (entries_.count(name) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("metric name \"", name, "\" is already registered"));
  }
  for (const std::string& label : label_names) {
    if (!IsValidName(label, /*allow_colon=*/false) || label.rfind("__", 0) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("label name \"", label, "\" of metric ", name,
                       " must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CounterFamily*> Registry::AddCounter(const std::string& name,
                                                    const std::string& help,
                                                    std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Validate(name, label_names); !s.ok()) return s;
  Entry& entry = entries_[name];
  entry.type = Type::kCounter;
  entry.help = help;
  entry.counter = std::make_unique<CounterFamily>(std::move(label_names),
                                                  [] { return std::make_unique<Counter>(); });
  return entry.counter.get();
}

absl::StatusOr<GaugeFamily*> Registry::AddGauge(const std::string& name, const std::string& help,
                                                std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Validate(name, label_names); !s.ok()) return s;
  Entry& entry = entries_[name];
  entry.type = Type::kGauge;
  entry.help = help;
  entry.gauge = std::make_unique<GaugeFamily>(std::move(label_names),
                                              [] { return std::make_unique<Gauge>(); });
  return entry.gauge.get();
}

absl::StatusOr<HistogramFamily*> Registry::AddHistogram(const std::string& name,
                                                        const std::string& help,
                                                        std::vector<std::string> label_names,
                                                        std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Validate(name, label_names); !s.ok()) return s;
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("label name \"le\" of histogram ", name, " is reserved for buckets"));
  }
  if (bounds.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("buckets of histogram ", name, " must not be empty"));
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || std::isinf(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "buckets of histogram ", name, " must be finite and strictly increasing; bucket ", i,
          " is ", FormatMetricValue(bounds[i])));
    }
  }
  Entry& entry = entries_[name];
  entry.type = Type::kHistogram;
  entry.help = help;
  entry.histogram = std::make_unique<HistogramFamily>(
      std::move(label_names), [bounds] { return std::make_unique<Histogram>(bounds); });
  return entry.histogram.get();
}

void Registry::AddCollectHook(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  hooks_.push_back(std::move(hook));
}

std::string Registry::Render() const {
  std::vector<std::function<void()>> hooks;
  {
    absl::MutexLock lock(&mu_);
    hooks = hooks_;
  }
  // Outside the lock: a hook may set gauges or even register families.
  for (const auto& hook : hooks) hook();

  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, entry] : entries_) RenderEntry(name, entry, &out);
  return out;
}

void Registry::RenderEntry(const std::string& name, const Entry& entry, std::string* out) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(entry.help), "\n");
  switch (entry.type) {
    case Type::kCounter:
      absl::StrAppend(out, "# TYPE ", name, " counter\n");
      entry.counter->ForEach([&](const auto& values, const Counter& c) {
        absl::StrAppend(out, name, LabelText(entry.counter->label_names(), values), " ",
                        FormatMetricValue(c.Value()), "\n");
      });
      break;
    case Type::kGauge:
      absl::StrAppend(out, "# TYPE ", name, " gauge\n");
      entry.gauge->ForEach([&](const auto& values, const Gauge& g) {
        absl::StrAppend(out, name, LabelText(entry.gauge->label_names(), values), " ",
                        FormatMetricValue(g.Value()), "\n");
      });
      break;
    case Type::kHistogram:
      absl::StrAppend(out, "# TYPE ", name, " histogram\n");
      entry.histogram->ForEach([&](const auto& values, const Histogram& h) {
        const auto& names = entry.histogram->label_names();
        Histogram::Snapshot snap = h.Read();
        for (size_t i = 0; i < snap.cumulative.size(); ++i) {
          std::string le =
              i < h.bounds().size() ? FormatMetricValue(h.bounds()[i]) : std::string("+Inf");
          absl::StrAppend(out, name, "_bucket", LabelText(names, values, "le", le), " ",
                          snap.cumulative[i], "\n");
        }
        absl::StrAppend(out, name, "_sum", LabelText(names, values), " ",
                        FormatMetricValue(snap.sum), "\n");
        absl::StrAppend(out, name, "_count", LabelText(names, values), " ", snap.cumulative.back(),
                        "\n");
      });
      break;
  }
}

}  // namespace ferry::observability
