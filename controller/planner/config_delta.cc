#include "controller/planner/config_delta.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "controller/planner/planner.h"

namespace ferry::controller {
namespace {

using ferry::v1::DnatRule;
using ferry::v1::NodeConfig;
using ferry::v1::NodeConfigDelta;
using ferry::v1::ReturnRoute;

uint64_t Component(absl::string_view part) {
  size_t digits = 0;
  while (digits < part.size() && part[digits] >= '0' && part[digits] <= '9') ++digits;
  uint64_t value = 0;
  if (digits == 0 || !absl::SimpleAtoi(part.substr(0, digits), &value)) return 0;
  return value;
}

// The positions of one forward's entries in a config's repeated field.
struct Span {
  int begin = 0;
  int end = 0;
};

// Entry indices ordered by forward name (stable), so equal forwards line up
// whatever order a config holds them in.
template <typename Entry>
std::vector<int> ByForward(const google::protobuf::RepeatedPtrField<Entry>& entries) {
  std::vector<int> order(entries.size());
  for (int i = 0; i < entries.size(); ++i) order[i] = i;
  auto less = [&](int a, int b) { return entries.Get(a).forward() < entries.Get(b).forward(); };
  if (!std::is_sorted(order.begin(), order.end(), less)) {
    std::stable_sort(order.begin(), order.end(), less);
  }
  return order;
}

template <typename Entry>
bool SameEntries(const google::protobuf::RepeatedPtrField<Entry>& a, const std::vector<int>& ao,
                 Span as, const google::protobuf::RepeatedPtrField<Entry>& b,
                 const std::vector<int>& bo, Span bs) {
  if (as.end - as.begin != bs.end - bs.begin) return false;
  for (int i = 0; i < as.end - as.begin; ++i) {
    if (a.Get(ao[as.begin + i]).SerializeAsString() !=
        b.Get(bo[bs.begin + i]).SerializeAsString()) {
      return false;
    }
  }
  return true;
}

// Adds to `changed` every forward whose entries of one kind differ.
template <typename Entry>
void ChangedForwards(const google::protobuf::RepeatedPtrField<Entry>& base,
                     const google::protobuf::RepeatedPtrField<Entry>& target,
                     absl::flat_hash_set<std::string>* changed) {
  const std::vector<int> bo = ByForward(base);
  const std::vector<int> to = ByForward(target);
  auto span_at = [](const google::protobuf::RepeatedPtrField<Entry>& entries,
                    const std::vector<int>& order, int begin) {
    Span s{begin, begin};
    while (s.end < static_cast<int>(order.size()) &&
           entries.Get(order[s.end]).forward() == entries.Get(order[begin]).forward()) {
      ++s.end;
    }
    return s;
  };
  int bi = 0, ti = 0;
  while (bi < static_cast<int>(bo.size()) || ti < static_cast<int>(to.size())) {
    const std::string* bname =
        bi < static_cast<int>(bo.size()) ? &base.Get(bo[bi]).forward() : nullptr;
    const std::string* tname =
        ti < static_cast<int>(to.size()) ? &target.Get(to[ti]).forward() : nullptr;
    if (tname == nullptr || (bname != nullptr && *bname < *tname)) {
      changed->insert(*bname);  // gone from target
      bi = span_at(base, bo, bi).end;
    } else if (bname == nullptr || *tname < *bname) {
      changed->insert(*tname);  // new in target
      ti = span_at(target, to, ti).end;
    } else {
      Span bs = span_at(base, bo, bi);
      Span ts = span_at(target, to, ti);
      if (!SameEntries(base, bo, bs, target, to, ts)) changed->insert(*tname);
      bi = bs.end;
      ti = ts.end;
    }
  }
}

}  // namespace

bool AgentVersionAtLeast(absl::string_view version, absl::string_view minimum) {
  std::vector<absl::string_view> have = absl::StrSplit(version, '.');
  std::vector<absl::string_view> want = absl::StrSplit(minimum, '.');
  for (size_t i = 0; i < std::max(have.size(), want.size()); ++i) {
    uint64_t h = i < have.size() ? Component(have[i]) : 0;
    uint64_t w = i < want.size() ? Component(want[i]) : 0;
    if (h != w) return h > w;
  }
  return true;
}

NodeConfigDelta ComputeDelta(const NodeConfig& base, const NodeConfig& target) {
  absl::flat_hash_set<std::string> changed;
  ChangedForwards(base.dnat(), target.dnat(), &changed);
  ChangedForwards(base.return_routes(), target.return_routes(), &changed);

  NodeConfigDelta delta;
  delta.set_version(target.version());
  delta.set_base_version(base.version());
  delta.set_ipv4_forwarding(target.ipv4_forwarding());
  delta.set_ipv6_forwarding(target.ipv6_forwarding());
  std::vector<std::string> names(changed.begin(), changed.end());
  std::sort(names.begin(), names.end());
  for (std::string& name : names) delta.add_forwards(std::move(name));
  for (const DnatRule& r : target.dnat()) {
    if (changed.contains(r.forward())) *delta.add_dnat() = r;
  }
  for (const ReturnRoute& r : target.return_routes()) {
    if (changed.contains(r.forward())) *delta.add_return_routes() = r;
  }
  return delta;
}

NodeConfig ApplyDelta(const NodeConfig& base, const NodeConfigDelta& delta) {
  absl::flat_hash_set<std::string> named(delta.forwards().begin(), delta.forwards().end());
  NodeConfig out;
  for (const DnatRule& r : base.dnat()) {
    if (!named.contains(r.forward())) *out.add_dnat() = r;
  }
  for (const ReturnRoute& r : base.return_routes()) {
    if (!named.contains(r.forward())) *out.add_return_routes() = r;
  }
  for (const DnatRule& r : delta.dnat()) *out.add_dnat() = r;
  for (const ReturnRoute& r : delta.return_routes()) *out.add_return_routes() = r;
  out.set_ipv4_forwarding(delta.ipv4_forwarding());
  out.set_ipv6_forwarding(delta.ipv6_forwarding());
  SortConfigEntries(&out);
  out.set_version(delta.version());
  return out;
}

}  // namespace ferry::controller
