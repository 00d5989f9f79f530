#ifndef FERRY_CONTROLLER_PLANNER_NODE_PLAN_H_
#define FERRY_CONTROLLER_PLANNER_NODE_PLAN_H_

// One node's planned config kept as the entries of each forward (a piece),
// with the whole config's version and size kept up to date as pieces come
// and go: a change of one forward among 100k costs O(its entries + log N),
// not a rebuild, sort and hash of the node's config. A piece is held
// encoded, as its entries appear in a NodeConfig, so that a full config is
// the concatenation of its pieces and 100k forwards cost their encoding,
// not decoded messages (which were a third of the controller's memory and
// copied whole for every full push). It also remembers each piece as it
// was at the last push (MarkPushed), so the delta to the next push names
// exactly the forwards whose entries changed since, without comparing two
// whole configs. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class NodePlan {
 public:
  // What one forward installs on the node: its DNAT rules and return
  // routes in the planner's order, the forwarding flags it needs, and their
  // share of the config's version.
  struct Piece {
    // The DNAT rules as NodeConfig `dnat` records (tag, length, rule), then
    // the return routes as `return_routes` records.
    std::string records;
    uint32_t routes_at = 0;  // where the return routes start in `records`
    uint32_t dnat_count = 0;
    uint32_t route_count = 0;
    int64_t generation = 0;  // the forward's, which each of its entries carries
    bool ipv4_forwarding = false;
    bool ipv6_forwarding = false;
    uint64_t hash = 0;

    absl::string_view dnat() const { return absl::string_view(records).substr(0, routes_at); }
    absl::string_view routes() const { return absl::string_view(records).substr(routes_at); }
  };
  using PiecePtr = std::shared_ptr<const Piece>;

  // Sorts the entries (all of one forward), encodes them and computes the
  // piece's hash.
  static PiecePtr MakePiece(ferry::v1::NodeConfig entries);
  // Same entries (one by one, in order) and flags; null is no piece.
  static bool SamePiece(const Piece* a, const Piece* b);

  // Sets the forward's piece (null: the forward installs nothing here).
  // Returns false, and keeps the held piece, when it has the same entries.
  bool Put(const std::string& forward, PiecePtr piece);
  // Recomputes the version after Puts.
  void Seal();

  const std::map<std::string, PiecePtr>& pieces() const { return pieces_; }
  const std::string& version() const { return version_; }
  // Encoded size of the full config, version included.
  size_t ByteSize() const;
  int dnat_count() const { return dnat_; }
  int route_count() const { return routes_; }
  // Appends the full config, encoded: byte for byte what PlanFleet's
  // NodeConfig for the node serializes to (entries sorted, version set).
  void AppendConfig(std::string* out) const;
  // The same, decoded (tests, and anything that is not a push).
  std::shared_ptr<ferry::v1::NodeConfig> Materialize() const;

  // The config at version() was pushed: later deltas start from it.
  void MarkPushed();
  // An encoded NodeConfigDelta and how many forwards it names.
  struct Delta {
    std::string encoded;
    int forwards = 0;
  };
  // The delta from the config last marked pushed to this one, as
  // api::ComputeDelta would compute it, if `base_version` is that config's
  // version; otherwise none (the caller pushes the full config).
  std::optional<Delta> DeltaSinceMark(const std::string& base_version) const;
  // The encoded size of the forward names and entries such a delta would
  // carry: when that is no smaller than ByteSize(), the full config is the
  // smaller message, and building the delta is waste.
  size_t DeltaEntryBytesSinceMark() const;
  // Calls fn(forward, its piece now or null) for each forward a delta since
  // the mark names, in name order.
  template <typename Fn>
  void ForEachChangedSinceMark(Fn fn) const;

 private:
  // The same entries, in order (non-null pieces).
  static bool SameEntries(const Piece& a, const Piece& b);
  // The same entries, a piece without any being none.
  static bool SameRecords(const Piece* a, const Piece* b);

  std::map<std::string, PiecePtr> pieces_;  // by forward
  uint64_t hash_ = 0;                       // sum of the pieces' hashes
  size_t bytes_ = 0;                        // sum of the pieces' records
  int dnat_ = 0, routes_ = 0, ipv4_ = 0, ipv6_ = 0;
  std::string version_;
  std::string marked_version_;  // empty: never pushed
  // Forwards whose piece changed since the mark -> their piece at the mark
  // (null: none).
  std::map<std::string, PiecePtr> since_mark_;
};

template <typename Fn>
void NodePlan::ForEachChangedSinceMark(Fn fn) const {
  for (const auto& [forward, then] : since_mark_) {
    auto now = pieces_.find(forward);
    const Piece* current = now == pieces_.end() ? nullptr : now->second.get();
    // Changed and changed back is no change, as api::ComputeDelta sees it;
    // nor is an empty piece that became none.
    if (SameRecords(then.get(), current)) continue;
    fn(forward, current);
  }
}

// The planner's config version of a config holding entries whose hashes
// (EntryHash) sum to `entries_hash`, with these forwarding flags.
std::string VersionOf(uint64_t entries_hash, bool ipv4_forwarding, bool ipv6_forwarding);
// One entry's share of a config's version: a hash of its encoding.
uint64_t EntryHash(const ferry::v1::DnatRule& rule);
uint64_t EntryHash(const ferry::v1::ReturnRoute& route);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_NODE_PLAN_H_
