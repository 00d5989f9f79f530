#include "controller/planner/conflicts.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "api/lib/forward_spec.h"
#include "api/lib/ip_address.h"
#include "api/lib/port_mapping.h"

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

absl::Status CheckFrontendClaims(ForwardRef candidate, ForwardRef other) {
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
                       " is already claimed by ipforward/", other.name(), ", so ipforward/",
                       candidate.name(), " cannot claim it"));
    }
  }
  return absl::OkStatus();
}

// The frontend's masquerade set is keyed on the backend tuple, so one tuple
// through one frontend node cannot be both masqueraded and preserved.
absl::Status CheckSourceIPModes(ForwardRef candidate, ForwardRef other) {
  const auto& cs = candidate.spec();
  const auto& os = other.spec();
  if (cs.frontend().node_name() != os.frontend().node_name()) return absl::OkStatus();
  if (api::IsMasquerade(cs) == api::IsMasquerade(os)) return absl::OkStatus();
  if (!SameAddress(cs.backend().address(), os.backend().address())) return absl::OkStatus();
  for (int i = 0; i < cs.ports_size(); ++i) {
    const auto& cp = cs.ports(i);
    for (const auto& op : os.ports()) {
      if (cp.protocol() != op.protocol()) continue;
      if (!Overlap(BackendRange(cp), BackendRange(op))) continue;
      return absl::AlreadyExistsError(
          absl::StrCat("spec.sourceIP: ipforward/", candidate.name(), " sends ",
                       ferry::v1::Protocol_Name(cp.protocol()), " ",
                       HostPort(cs.backend().address(), BackendRange(cp)), " (spec.ports[", i,
                       "]) through node ", cs.frontend().node_name(), " with sourceIP ",
                       api::SourceIPName(cs.source_ip()), ", but ipforward/", other.name(),
                       " already sends it with sourceIP ", api::SourceIPName(os.source_ip())));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPair(ForwardRef candidate, ForwardRef other) {
  if (other.name() == candidate.name()) return absl::OkStatus();
  // Which nodes a selector claims on changes with their labels, after any
  // admission check: the agent of each node finds the overlap instead
  // (element_owners.h), and the later forward fails on that node.
  if (candidate.spec().frontend().has_node_selector() ||
      other.spec().frontend().has_node_selector()) {
    return absl::OkStatus();
  }
  if (absl::Status s = CheckFrontendClaims(candidate, other); !s.ok()) return s;
  return CheckSourceIPModes(candidate, other);
}

constexpr uint32_t kRoleFrontend = 0;
constexpr uint32_t kRoleBackendPreserve = 2;
constexpr uint32_t kRoleBackendMasquerade = 3;

uint64_t PackBucket(uint32_t node, uint32_t address, int protocol, uint32_t role) {
  return uint64_t{address} << 32 | (node & 0xfffff) << 12 |
         (static_cast<uint32_t>(protocol) & 0xff) << 4 | role;
}

// Calls fn(bucket, range) for each claim of `spec` whose ids are known:
// its own claims, or with `opposite` its frontend claims and the backend
// claims of the other sourceIP mode (the ones that would conflict).
template <typename Fn>
void ForEachClaim(const ferry::v1::IPForwardSpec& spec, std::optional<uint32_t> node,
                  std::optional<uint32_t> frontend, std::optional<uint32_t> backend, bool opposite,
                  Fn fn) {
  if (!node.has_value() || spec.frontend().has_node_selector()) return;  // see CheckPair
  const bool masq = api::IsMasquerade(spec);
  const uint32_t role = masq != opposite ? kRoleBackendMasquerade : kRoleBackendPreserve;
  for (const ferry::v1::PortMapping& m : spec.ports()) {
    if (frontend.has_value()) {
      fn(PackBucket(*node, *frontend, m.protocol(), kRoleFrontend), FrontendRange(m));
    }
    if (backend.has_value()) {
      fn(PackBucket(*node, *backend, m.protocol(), role), BackendRange(m));
    }
  }
}

}  // namespace

// Node names and addresses as small ids, counted by the forwards that use
// them so that ids of released ones are reused. Addresses are keyed by
// value, so equal addresses written differently share an id; text that is
// not an address is keyed as text, as SameAddress compares it.
class ConflictIndex::InternTable {
 public:
  uint32_t AcquireNode(absl::string_view node) { return Acquire(&nodes_, std::string(node)); }
  std::optional<uint32_t> ReleaseNode(absl::string_view node) {
    return Release(&nodes_, std::string(node));
  }
  std::optional<uint32_t> FindNode(absl::string_view node) const { return Find(nodes_, node); }

  uint32_t AcquireAddress(absl::string_view address) {
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(address);
    return ip.ok() ? Acquire(&addresses_, *ip) : Acquire(&unparsed_, std::string(address));
  }
  std::optional<uint32_t> ReleaseAddress(absl::string_view address) {
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(address);
    return ip.ok() ? Release(&addresses_, *ip) : Release(&unparsed_, std::string(address));
  }
  std::optional<uint32_t> FindAddress(absl::string_view address) const {
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(address);
    return ip.ok() ? Find(addresses_, *ip) : Find(unparsed_, address);
  }

 private:
  struct Space {
    std::vector<uint32_t> free;
    uint32_t next = 0;
  };
  template <typename K>
  struct Table {
    absl::flat_hash_map<K, Interned> ids;
    Space* space;
  };

  template <typename K, typename Q>
  static std::optional<uint32_t> Find(const Table<K>& table, const Q& key) {
    auto it = table.ids.find(key);
    if (it == table.ids.end()) return std::nullopt;
    return it->second.id;
  }
  template <typename K>
  static uint32_t Acquire(Table<K>* table, K key) {
    auto [it, inserted] = table->ids.try_emplace(std::move(key));
    if (inserted) {
      Space* space = table->space;
      if (space->free.empty()) {
        it->second.id = space->next++;
      } else {
        it->second.id = space->free.back();
        space->free.pop_back();
      }
    }
    ++it->second.refs;
    return it->second.id;
  }
  // The released id: still the key's until someone acquires again.
  template <typename K>
  static std::optional<uint32_t> Release(Table<K>* table, const K& key) {
    auto it = table->ids.find(key);
    if (it == table->ids.end()) return std::nullopt;
    const uint32_t id = it->second.id;
    if (--it->second.refs == 0) {
      table->space->free.push_back(id);
      table->ids.erase(it);
    }
    return id;
  }

  Space node_ids_;
  Space address_ids_;
  Table<std::string> nodes_{{}, &node_ids_};
  Table<IpAddress> addresses_{{}, &address_ids_};
  Table<std::string> unparsed_{{}, &address_ids_};
};

ConflictIndex::ConflictIndex()
    : interned_(std::make_unique<InternTable>()),
      scratch_(std::make_unique<ferry::v1::IPForwardSpec>()) {}
ConflictIndex::~ConflictIndex() = default;
ConflictIndex::ConflictIndex(ConflictIndex&&) = default;
ConflictIndex& ConflictIndex::operator=(ConflictIndex&&) = default;

absl::string_view ConflictIndex::Held::name() const {
  if (borrowed != nullptr) return borrowed->name;
  return absl::string_view(bytes.get(), name_size);
}

absl::string_view ConflictIndex::Held::spec() const {
  return absl::string_view(bytes.get() + name_size, spec_size);
}

ConflictIndex::Ids ConflictIndex::Acquire(const ferry::v1::IPForwardSpec& spec) {
  return {interned_->AcquireNode(spec.frontend().node_name()),
          interned_->AcquireAddress(spec.frontend().address()),
          interned_->AcquireAddress(spec.backend().address())};
}

ConflictIndex::Ids ConflictIndex::Release(const ferry::v1::IPForwardSpec& spec) {
  return {interned_->ReleaseNode(spec.frontend().node_name()),
          interned_->ReleaseAddress(spec.frontend().address()),
          interned_->ReleaseAddress(spec.backend().address())};
}

ConflictIndex::Ids ConflictIndex::FindIds(const ferry::v1::IPForwardSpec& spec) const {
  Ids ids;
  ids.node = interned_->FindNode(spec.frontend().node_name());
  if (!ids.node.has_value()) return ids;  // no claim on that node at all
  ids.frontend = interned_->FindAddress(spec.frontend().address());
  ids.backend = interned_->FindAddress(spec.backend().address());
  return ids;
}

void ConflictIndex::Index(uint32_t id, const ferry::v1::IPForwardSpec& spec) {
  Ids ids = Acquire(spec);
  ForEachClaim(spec, ids.node, ids.frontend, ids.backend, false,
               [&](BucketKey bucket, PortRange r) {
                 claims_.emplace(ClaimKey::Of(bucket, r.first, id), r.last);
                 if (r.last > r.first) {
                   uint32_t& widest = widest_[bucket];
                   widest = std::max(widest, r.last - r.first);
                 }
               });
}

void ConflictIndex::Unindex(uint32_t id, const ferry::v1::IPForwardSpec& spec) {
  // Released first: the ids stay what they were until someone acquires.
  Ids ids = Release(spec);
  ForEachClaim(spec, ids.node, ids.frontend, ids.backend, false,
               [&](BucketKey bucket, PortRange r) {
                 auto [begin, end] = claims_.equal_range(ClaimKey::Of(bucket, r.first, id));
                 for (auto it = begin; it != end; ++it) {
                   if (it->second == r.last) {
                     claims_.erase(it);
                     break;
                   }
                 }
                 auto wide = widest_.find(bucket);
                 if (wide == widest_.end()) return;
                 auto next = claims_.lower_bound(ClaimKey::Of(bucket, 0, 0));
                 if (next == claims_.end() || next->first.bucket() != bucket) widest_.erase(wide);
               });
}

std::optional<ForwardRef> ConflictIndex::Materialize(uint32_t id,
                                                     ferry::v1::IPForward* scratch) const {
  const Held& held = held_[id];
  if (held.borrowed != nullptr) return ForwardRef(*held.borrowed);
  scratch->Clear();
  absl::string_view spec = held.spec();
  if (!scratch->mutable_spec()->ParseFromArray(spec.data(), static_cast<int>(spec.size()))) {
    return std::nullopt;
  }
  scratch->mutable_metadata()->set_name(std::string(held.name()));
  return ForwardRef(*scratch);
}

uint32_t ConflictIndex::Slot(absl::string_view name) {
  Remove(name);
  if (free_slots_.empty()) {
    held_.emplace_back();
    return static_cast<uint32_t>(held_.size() - 1);
  }
  uint32_t id = free_slots_.back();
  free_slots_.pop_back();
  return id;
}

void ConflictIndex::Reserve(size_t n) {
  names_.reserve(names_.size() + n);
  held_.reserve(held_.size() + n);
}

void ConflictIndex::Put(const ferry::v1::IPForward& forward) {
  const std::string& name = forward.metadata().name();
  const size_t spec_size = forward.spec().ByteSizeLong();
  const uint32_t id = Slot(name);
  Held& held = held_[id];
  Fill(&held, name, spec_size);
  forward.spec().SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(held.bytes.get() + held.name_size));
  names_.emplace(held.name(), id);
  Index(id, forward.spec());
}

bool ConflictIndex::PutSpecBytes(absl::string_view name, absl::string_view spec) {
  if (!scratch_->ParseFromArray(spec.data(), static_cast<int>(spec.size()))) return false;
  if (Contains(name)) {
    Remove(name);  // decodes the replaced spec into scratch_: parse again
    (void)scratch_->ParseFromArray(spec.data(), static_cast<int>(spec.size()));
  }
  const uint32_t id = Slot(name);
  Held& held = held_[id];
  Fill(&held, name, spec.size());
  std::memcpy(held.bytes.get() + held.name_size, spec.data(), spec.size());
  names_.emplace(held.name(), id);
  Index(id, *scratch_);
  return true;
}

void ConflictIndex::Fill(Held* held, absl::string_view name, size_t spec_size) {
  held->name_size = static_cast<uint32_t>(name.size());
  held->spec_size = static_cast<uint32_t>(spec_size);
  held->bytes = std::make_unique_for_overwrite<char[]>(name.size() + spec_size);
  std::memcpy(held->bytes.get(), name.data(), name.size());
}

void ConflictIndex::Add(const PlanForward* forward) {
  uint32_t id = Slot(forward->name);
  held_[id].borrowed = forward;
  names_.emplace(held_[id].name(), id);
  Index(id, forward->spec);
}

bool ConflictIndex::Remove(absl::string_view name) {
  auto it = names_.find(name);
  if (it == names_.end()) return false;
  const uint32_t id = it->second;
  names_.erase(it);
  Held& held = held_[id];
  if (held.borrowed != nullptr) {
    Unindex(id, held.borrowed->spec);
  } else {
    absl::string_view spec = held.spec();
    // Cannot fail: the same bytes parsed when they were put.
    (void)scratch_->ParseFromArray(spec.data(), static_cast<int>(spec.size()));
    Unindex(id, *scratch_);
  }
  held = Held();
  free_slots_.push_back(id);
  return true;
}

std::optional<ferry::v1::IPForward> ConflictIndex::Find(absl::string_view name) const {
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  ferry::v1::IPForward scratch;
  std::optional<ForwardRef> forward = Materialize(it->second, &scratch);
  if (!forward.has_value()) return std::nullopt;
  if (&forward->spec() == &scratch.spec()) return scratch;
  ferry::v1::IPForward copy;
  copy.mutable_metadata()->set_name(forward->name());
  *copy.mutable_spec() = forward->spec();
  return copy;
}

std::optional<absl::string_view> ConflictIndex::SpecBytes(absl::string_view name) const {
  auto it = names_.find(name);
  if (it == names_.end() || held_[it->second].borrowed != nullptr) return std::nullopt;
  return held_[it->second].spec();
}

absl::Status ConflictIndex::Check(ForwardRef candidate) const {
  const ferry::v1::IPForwardSpec& spec = candidate.spec();
  Ids ids = FindIds(spec);
  absl::InlinedVector<uint32_t, 8> hits;  // a staged candidate hits itself
  ForEachClaim(
      spec, ids.node, ids.frontend, ids.backend, /*opposite=*/true,
      [&](BucketKey bucket, PortRange r) {
        // A range overlapping [first, last] starts in [first - widest, last].
        auto wide = widest_.find(bucket);
        uint32_t widest = wide == widest_.end() ? 0 : wide->second;
        uint32_t from = r.first > widest ? r.first - widest : 0;
        for (auto it = claims_.lower_bound(ClaimKey::Of(bucket, from, 0));
             it != claims_.end() && it->first.bucket() == bucket && it->first.first <= r.last;
             ++it) {
          if (it->second >= r.first) hits.push_back(it->first.forward);
        }
      });
  if (hits.empty()) return absl::OkStatus();
  // The full check over just the overlapping forwards, in name order,
  // words the error exactly as CheckConflicts over all of them would.
  std::sort(hits.begin(), hits.end(), [this](uint32_t a, uint32_t b) {
    return held_[a].name() < held_[b].name() || (held_[a].name() == held_[b].name() && a < b);
  });
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  ferry::v1::IPForward scratch;
  for (uint32_t id : hits) {
    if (held_[id].name() == candidate.name()) continue;
    std::optional<ForwardRef> other = Materialize(id, &scratch);
    if (!other.has_value()) continue;  // cannot happen: the bytes parsed when put
    if (absl::Status s = CheckPair(candidate, *other); !s.ok()) return s;
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
