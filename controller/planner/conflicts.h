#ifndef FERRY_CONTROLLER_PLANNER_CONFLICTS_H_
#define FERRY_CONTROLLER_PLANNER_CONFLICTS_H_

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "api/lib/ip_address.h"
#include "controller/planner/plan_forward.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// Two forwards conflict if they claim the same frontend node, address,
// protocol and an overlapping port, or if they send the same backend
// address/protocol/port through one frontend node with different sourceIP
// modes (the masquerade set is keyed on the backend tuple). Returns
// ALREADY_EXISTS naming both forwards and the field, e.g.
//   "spec.ports[0]: TCP 192.0.2.1:80 on node node-a is already claimed by ipforward/web"
// Forwards with the candidate's name are ignored (an update of itself), and
// so are forwards whose frontend is a nodeSelector: the nodes they claim on
// change with labels, so each node's agent finds their overlaps instead.
absl::Status CheckConflicts(const ferry::v1::IPForward& candidate,
                            const std::vector<ferry::v1::IPForward>& existing);

// The claims of a set of forwards keyed by name, indexed so that a check
// costs O(log N) per port mapping instead of O(N): planning N forwards is
// not quadratic, and the write path can keep one index of every stored
// forward across requests, replacing and removing forwards as they change.
// Check returns exactly what CheckConflicts(candidate, every held forward in
// name order) returns, so the message names the same forward whichever
// order they were added in.
//
// Sized for 100k held forwards: a held forward is its name and serialized
// spec in one allocation, and a claim is a 20-byte entry of one ordered
// tree keyed by small ids (node and address interned), so a forward costs
// about a quarter of a KB. A forward is decoded again only when a check
// hits it, to word the message.
class ConflictIndex {
 public:
  ConflictIndex();
  ~ConflictIndex();
  ConflictIndex(const ConflictIndex&) = delete;
  ConflictIndex& operator=(const ConflictIndex&) = delete;
  ConflictIndex(ConflictIndex&&);
  ConflictIndex& operator=(ConflictIndex&&);

  // Holds a copy of the forward's name and spec (nothing else is needed to
  // check), replacing the forward of that name if there is one.
  void Put(const ferry::v1::IPForward& forward);
  // The same from a serialized IPForwardSpec, held as these bytes. False
  // (and nothing changed) if they do not parse.
  bool PutSpecBytes(absl::string_view name, absl::string_view spec);
  // Holds `forward` itself, without a copy: for a caller that keeps the
  // forwards alive, unchanged, longer than the index (the planner).
  // Replaces the forward of that name if there is one.
  void Add(const PlanForward* forward);
  // Returns false if no forward of that name is held.
  bool Remove(absl::string_view name);
  bool Contains(absl::string_view name) const { return names_.contains(name); }
  // The held forward of that name (name and spec), rebuilt; nullopt if none.
  std::optional<ferry::v1::IPForward> Find(absl::string_view name) const;
  // The serialized spec held for a forward given by Put or PutSpecBytes;
  // nullopt for one given by Add or not held.
  std::optional<absl::string_view> SpecBytes(absl::string_view name) const;
  size_t size() const { return names_.size(); }
  // Room for `n` more forwards than are held.
  void Reserve(size_t n);

  absl::Status Check(ForwardRef candidate) const;

 private:
  // A forward held by the index; its id is its slot in held_.
  struct Held {
    std::unique_ptr<char[]> bytes;  // the name, then the spec (none if borrowed)
    uint32_t name_size = 0;
    uint32_t spec_size = 0;
    const PlanForward* borrowed = nullptr;  // from Add
    absl::string_view name() const;
    absl::string_view spec() const;
  };
  // Which claims may collide: frontend node, address, protocol and role
  // (frontend, or backend with its sourceIP mode), packed from interned
  // ids. Packing may merge two buckets (a protocol beyond 8 bits, a node id
  // beyond 20), never split one: a merge costs a check, not its answer.
  using BucketKey = uint64_t;
  // A claim, ordered by bucket then first port; 4-byte fields, so that an
  // entry with its last port is 20 bytes.
  struct ClaimKey {
    uint32_t bucket_high;  // the bucket's two halves
    uint32_t bucket_low;
    uint32_t first;    // port
    uint32_t forward;  // id
    static ClaimKey Of(BucketKey bucket, uint32_t first, uint32_t forward) {
      return {static_cast<uint32_t>(bucket >> 32), static_cast<uint32_t>(bucket), first, forward};
    }
    BucketKey bucket() const { return BucketKey{bucket_high} << 32 | bucket_low; }
    auto operator<=>(const ClaimKey&) const = default;
  };
  // The interned ids of a spec's node and addresses; none for one that
  // nothing held uses (Find only).
  struct Ids {
    std::optional<uint32_t> node, frontend, backend;
  };
  struct Interned {
    uint32_t id = 0;
    uint32_t refs = 0;
  };
  class InternTable;

  uint32_t Slot(absl::string_view name);  // a free slot, after removing `name`
  // Sets the name and room for the spec's bytes.
  static void Fill(Held* held, absl::string_view name, size_t spec_size);
  void Index(uint32_t id, const ferry::v1::IPForwardSpec& spec);
  void Unindex(uint32_t id, const ferry::v1::IPForwardSpec& spec);
  Ids Acquire(const ferry::v1::IPForwardSpec& spec);
  Ids Release(const ferry::v1::IPForwardSpec& spec);
  Ids FindIds(const ferry::v1::IPForwardSpec& spec) const;
  // The held forward with its name and spec: the borrowed one, or `scratch`
  // decoded. None if held bytes no longer parse (they parsed when put).
  std::optional<ForwardRef> Materialize(uint32_t id, ferry::v1::IPForward* scratch) const;

  std::vector<Held> held_;
  std::vector<uint32_t> free_slots_;
  absl::flat_hash_map<absl::string_view, uint32_t> names_;  // views into held_
  // -> last port; one entry per mapping, so a forward with two equal
  // mappings has two equal entries.
  absl::btree_multimap<ClaimKey, uint32_t> claims_;
  // Largest last - first ever inserted in a bucket, for buckets holding a
  // range; bounds the backward scan. It only grows until the bucket
  // empties: a removal leaves a scan at most 1024 ports (the widest
  // mapping validation admits) too wide.
  absl::flat_hash_map<BucketKey, uint32_t> widest_;
  std::unique_ptr<InternTable> interned_;
  // Reused to decode a replaced or removed forward's spec.
  std::unique_ptr<ferry::v1::IPForwardSpec> scratch_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_CONFLICTS_H_
