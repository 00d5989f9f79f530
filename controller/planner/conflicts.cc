#include "controller/planner/conflicts.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/forward_spec.h"
#include "api/lib/ip_address.h"
#include "api/lib/port_mapping.h"
#include "controller/planner/planner.h"

namespace ferry::controller {
namespace {

// Addresses compare as values, so "2001:db8::1" equals "2001:DB8:0::1".
bool SameAddress(const std::string& a, const std::string& b) {
  absl::StatusOr<IpAddress> pa = IpAddress::Parse(a);
  absl::StatusOr<IpAddress> pb = IpAddress::Parse(b);
  if (pa.ok() && pb.ok()) return *pa == *pb;
  return a == b;
}

struct PortRange {
  uint32_t first = 0;
  uint32_t last = 0;
};

bool Overlap(PortRange a, PortRange b) { return a.first <= b.last && b.first <= a.last; }

PortRange FrontendRange(const ferry::v1::PortMapping& m) {
  const api::PortSpan s = api::ExpandPorts(m);
  return {s.first, s.last};
}

PortRange BackendRange(const ferry::v1::PortMapping& m) {
  const api::PortSpan s = api::ExpandPorts(m);
  return {s.target_first, static_cast<uint32_t>(s.target_last)};
}

std::string RangeText(PortRange r) {
  return r.first == r.last ? absl::StrCat(r.first) : absl::StrCat(r.first, "-", r.last);
}

// IPv6 addresses need brackets before a port.
std::string HostPort(const std::string& address, PortRange r) {
  bool v6 = address.find(':') != std::string::npos;
  return v6 ? absl::StrCat("[", address, "]:", RangeText(r))
            : absl::StrCat(address, ":", RangeText(r));
}

absl::Status CheckFrontendClaims(const ferry::v1::IPForward& candidate,
                                 const ferry::v1::IPForward& other) {
  const auto& cf = candidate.spec().frontend();
  const auto& of = other.spec().frontend();
  if (cf.node_name() != of.node_name() || !SameAddress(cf.address(), of.address())) {
    return absl::OkStatus();
  }
  for (int i = 0; i < candidate.spec().ports_size(); ++i) {
    const auto& cp = candidate.spec().ports(i);
    for (const auto& op : other.spec().ports()) {
      if (cp.protocol() != op.protocol()) continue;
      if (!Overlap(FrontendRange(cp), FrontendRange(op))) continue;
      return absl::AlreadyExistsError(
          absl::StrCat("spec.ports[", i, "]: ", ferry::v1::Protocol_Name(cp.protocol()), " ",
                       HostPort(cf.address(), FrontendRange(cp)), " on node ", cf.node_name(),
                       " is already claimed by ipforward/", other.metadata().name(),
                       ", so ipforward/", candidate.metadata().name(), " cannot claim it"));
    }
  }
  return absl::OkStatus();
}

// The frontend's masquerade set is keyed on the backend tuple, so one tuple
// through one frontend node cannot be both masqueraded and preserved.
absl::Status CheckSourceIPModes(const ferry::v1::IPForward& candidate,
                                const ferry::v1::IPForward& other) {
  const auto& cs = candidate.spec();
  const auto& os = other.spec();
  if (cs.frontend().node_name() != os.frontend().node_name()) return absl::OkStatus();
  if (IsMasquerade(cs) == IsMasquerade(os)) return absl::OkStatus();
  if (!SameAddress(cs.backend().address(), os.backend().address())) return absl::OkStatus();
  for (int i = 0; i < cs.ports_size(); ++i) {
    const auto& cp = cs.ports(i);
    for (const auto& op : os.ports()) {
      if (cp.protocol() != op.protocol()) continue;
      if (!Overlap(BackendRange(cp), BackendRange(op))) continue;
      return absl::AlreadyExistsError(absl::StrCat(
          "spec.sourceIP: ipforward/", candidate.metadata().name(), " sends ",
          ferry::v1::Protocol_Name(cp.protocol()), " ",
          HostPort(cs.backend().address(), BackendRange(cp)), " (spec.ports[", i,
          "]) through node ", cs.frontend().node_name(), " with sourceIP ",
          api::SourceIPName(cs.source_ip()), ", but ipforward/", other.metadata().name(),
          " already sends it with sourceIP ", api::SourceIPName(os.source_ip())));
    }
  }
  return absl::OkStatus();
}

// The key form of an address: equal values give equal strings.
std::string Canonical(const std::string& address) {
  absl::StatusOr<IpAddress> parsed = IpAddress::Parse(address);
  return parsed.ok() ? parsed->ToString() : address;
}

absl::Status CheckPair(const ferry::v1::IPForward& candidate, const ferry::v1::IPForward& other) {
  if (other.metadata().name() == candidate.metadata().name()) return absl::OkStatus();
  if (absl::Status s = CheckFrontendClaims(candidate, other); !s.ok()) return s;
  return CheckSourceIPModes(candidate, other);
}

}  // namespace

void ConflictIndex::Insert(Bucket* bucket, uint32_t first, uint32_t last, const std::string* name) {
  bucket->ranges.emplace(first, std::make_pair(last, name));
  bucket->widest = std::max(bucket->widest, last - first);
}

void ConflictIndex::Erase(std::map<Key, Bucket>* buckets, const Key& key, uint32_t first,
                          uint32_t last, const std::string* name) {
  auto bucket = buckets->find(key);
  if (bucket == buckets->end()) return;
  auto& ranges = bucket->second.ranges;
  auto [begin, end] = ranges.equal_range(first);
  for (auto it = begin; it != end; ++it) {
    // One entry per mapping: a forward with two equal mappings has two.
    if (it->second.first == last && it->second.second == name) {
      ranges.erase(it);
      break;
    }
  }
  if (ranges.empty()) buckets->erase(bucket);
}

void ConflictIndex::Collect(const Bucket& bucket, uint32_t first, uint32_t last,
                            std::vector<const std::string*>* out) {
  // A range overlapping [first, last] starts in [first - widest, last].
  uint32_t from = first > bucket.widest ? first - bucket.widest : 0;
  for (auto it = bucket.ranges.lower_bound(from); it != bucket.ranges.end() && it->first <= last;
       ++it) {
    if (it->second.first >= first) out->push_back(it->second.second);
  }
}

void ConflictIndex::ForEachClaim(
    const ferry::v1::IPForwardSpec& spec,
    const std::function<void(std::map<Key, Bucket>*, const Key&, uint32_t, uint32_t)>& fn) {
  const std::string& node = spec.frontend().node_name();
  const std::string fe = Canonical(spec.frontend().address());
  const std::string be = Canonical(spec.backend().address());
  const int masq = IsMasquerade(spec) ? 1 : 0;
  for (const auto& m : spec.ports()) {
    PortRange f = FrontendRange(m);
    fn(&frontends_, {node, fe, m.protocol(), 0}, f.first, f.last);
    PortRange b = BackendRange(m);
    fn(&backends_, {node, be, m.protocol(), masq}, b.first, b.last);
  }
}

void ConflictIndex::Index(const std::string* name, const ferry::v1::IPForwardSpec& spec) {
  ForEachClaim(spec, [name](std::map<Key, Bucket>* buckets, const Key& key, uint32_t first,
                            uint32_t last) { Insert(&(*buckets)[key], first, last, name); });
}

void ConflictIndex::Unindex(const std::string* name, const ferry::v1::IPForwardSpec& spec) {
  ForEachClaim(spec, [name](std::map<Key, Bucket>* buckets, const Key& key, uint32_t first,
                            uint32_t last) { Erase(buckets, key, first, last, name); });
}

void ConflictIndex::Hold(const std::string& name, Held held) {
  auto [it, inserted] = forwards_.try_emplace(name);
  if (!inserted) Unindex(&it->first, it->second.forward->spec());
  it->second = std::move(held);
  Index(&it->first, it->second.forward->spec());
}

void ConflictIndex::Put(const ferry::v1::IPForward& forward) {
  Held held;
  held.owned = std::make_unique<ferry::v1::IPForward>();
  held.owned->mutable_metadata()->set_name(forward.metadata().name());
  *held.owned->mutable_spec() = forward.spec();
  held.forward = held.owned.get();
  Hold(forward.metadata().name(), std::move(held));
}

void ConflictIndex::Add(const ferry::v1::IPForward* forward) {
  Held held;
  held.forward = forward;
  Hold(forward->metadata().name(), std::move(held));
}

bool ConflictIndex::Remove(const std::string& name) {
  auto it = forwards_.find(name);
  if (it == forwards_.end()) return false;
  Unindex(&it->first, it->second.forward->spec());
  forwards_.erase(it);
  return true;
}

const ferry::v1::IPForward* ConflictIndex::Find(const std::string& name) const {
  auto it = forwards_.find(name);
  return it == forwards_.end() ? nullptr : it->second.forward;
}

absl::Status ConflictIndex::Check(const ferry::v1::IPForward& candidate) const {
  const auto& spec = candidate.spec();
  const std::string& node = spec.frontend().node_name();
  const std::string fe = Canonical(spec.frontend().address());
  const std::string be = Canonical(spec.backend().address());
  std::vector<const std::string*> hits;
  for (const auto& m : spec.ports()) {
    if (auto it = frontends_.find({node, fe, m.protocol(), 0}); it != frontends_.end()) {
      PortRange f = FrontendRange(m);
      Collect(it->second, f.first, f.last, &hits);
    }
    // Only the other sourceIP mode conflicts.
    Key other{node, be, m.protocol(), IsMasquerade(spec) ? 0 : 1};
    if (auto it = backends_.find(other); it != backends_.end()) {
      PortRange b = BackendRange(m);
      Collect(it->second, b.first, b.last, &hits);
    }
  }
  if (hits.empty()) return absl::OkStatus();
  // The full check over just the overlapping forwards, in name order,
  // words the error exactly as CheckConflicts over all of them would.
  std::sort(hits.begin(), hits.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  for (const std::string* name : hits) {
    if (absl::Status s = CheckPair(candidate, *forwards_.at(*name).forward); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckConflicts(const ferry::v1::IPForward& candidate,
                            const std::vector<ferry::v1::IPForward>& existing) {
  for (const ferry::v1::IPForward& other : existing) {
    if (absl::Status s = CheckPair(candidate, other); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace ferry::controller
