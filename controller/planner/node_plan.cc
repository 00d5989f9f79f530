#include "controller/planner/node_plan.h"

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "api/lib/config_delta.h"
#include "controller/planner/planner.h"
#include "google/protobuf/io/coded_stream.h"

namespace ferry::controller {
namespace {

using ferry::v1::DnatRule;
using ferry::v1::NodeConfig;
using ferry::v1::ReturnRoute;
using google::protobuf::io::CodedOutputStream;

// splitmix64's finalizer: spreads FNV's weak low bits over the word, so
// that sums of entry hashes do not cancel out.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t HashBytes(const google::protobuf::MessageLite& entry, uint64_t seed) {
  std::string bytes = entry.SerializeAsString();   // no map fields: deterministic
  uint64_t hash = 14695981039346656037ull ^ seed;  // FNV-1a
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return Mix(hash);
}

// Encoded size of one entry as a repeated field of NodeConfig.
size_t FieldSize(const google::protobuf::MessageLite& entry) {
  const size_t size = entry.ByteSizeLong();
  return 1 + CodedOutputStream::VarintSize64(size) + size;
}

template <typename Entry>
bool SameEntries(const google::protobuf::RepeatedPtrField<Entry>& a,
                 const google::protobuf::RepeatedPtrField<Entry>& b) {
  if (a.size() != b.size()) return false;
  for (int i = 0; i < a.size(); ++i) {
    if (!api::SameEntry(a.Get(i), b.Get(i))) return false;
  }
  return true;
}

bool Empty(const NodePlan::Piece* p) {
  return p == nullptr || (p->entries.dnat_size() == 0 && p->entries.return_routes_size() == 0);
}

}  // namespace

uint64_t EntryHash(const DnatRule& rule) { return HashBytes(rule, 0x444e4154ull); }
uint64_t EntryHash(const ReturnRoute& route) { return HashBytes(route, 0x52455455ull); }

std::string VersionOf(uint64_t entries_hash, bool ipv4_forwarding, bool ipv6_forwarding) {
  uint64_t flags = Mix(0x666c616773ull + (ipv4_forwarding ? 1 : 0) + (ipv6_forwarding ? 2 : 0));
  return absl::StrFormat("%016x", Mix(entries_hash ^ flags));
}

NodePlan::PiecePtr NodePlan::MakePiece(NodeConfig entries) {
  auto piece = std::make_shared<Piece>();
  SortConfigEntries(&entries);
  for (const DnatRule& r : entries.dnat()) {
    piece->hash += EntryHash(r);
    piece->bytes += FieldSize(r);
  }
  for (const ReturnRoute& r : entries.return_routes()) {
    piece->hash += EntryHash(r);
    piece->bytes += FieldSize(r);
  }
  piece->entries = std::move(entries);
  return piece;
}

bool NodePlan::SamePiece(const Piece* a, const Piece* b) {
  if (a == b) return true;
  if (a == nullptr || b == nullptr) return false;
  return a->hash == b->hash && a->entries.ipv4_forwarding() == b->entries.ipv4_forwarding() &&
         a->entries.ipv6_forwarding() == b->entries.ipv6_forwarding() &&
         SameEntries(a->entries.dnat(), b->entries.dnat()) &&
         SameEntries(a->entries.return_routes(), b->entries.return_routes());
}

bool NodePlan::Put(const std::string& forward, PiecePtr piece) {
  auto it = pieces_.find(forward);
  const Piece* old = it == pieces_.end() ? nullptr : it->second.get();
  if (SamePiece(old, piece.get())) return false;
  since_mark_.try_emplace(forward, it == pieces_.end() ? nullptr : it->second);
  auto account = [this](const Piece& p, int sign) {
    hash_ += sign > 0 ? p.hash : -p.hash;
    bytes_ = sign > 0 ? bytes_ + p.bytes : bytes_ - p.bytes;
    dnat_ += sign * p.entries.dnat_size();
    routes_ += sign * p.entries.return_routes_size();
    ipv4_ += sign * (p.entries.ipv4_forwarding() ? 1 : 0);
    ipv6_ += sign * (p.entries.ipv6_forwarding() ? 1 : 0);
  };
  if (old != nullptr) account(*old, -1);
  if (piece == nullptr) {
    pieces_.erase(it);
    return true;
  }
  account(*piece, +1);
  if (it == pieces_.end()) {
    pieces_.emplace(forward, std::move(piece));
  } else {
    it->second = std::move(piece);
  }
  return true;
}

void NodePlan::Seal() { version_ = VersionOf(hash_, ipv4_ > 0, ipv6_ > 0); }

size_t NodePlan::ByteSize() const {
  size_t size = bytes_ + (ipv4_ > 0 ? 2 : 0) + (ipv6_ > 0 ? 2 : 0);
  if (!version_.empty()) {
    size += 1 + CodedOutputStream::VarintSize64(version_.size()) + version_.size();
  }
  return size;
}

std::shared_ptr<NodeConfig> NodePlan::Materialize() const {
  auto config = std::make_shared<NodeConfig>();
  config->set_version(version_);
  config->mutable_dnat()->Reserve(dnat_);
  config->mutable_return_routes()->Reserve(routes_);
  // Pieces are sorted within and by forward name: the whole is sorted.
  for (const auto& [forward, piece] : pieces_) {
    for (const DnatRule& r : piece->entries.dnat()) *config->add_dnat() = r;
    for (const ReturnRoute& r : piece->entries.return_routes()) *config->add_return_routes() = r;
  }
  config->set_ipv4_forwarding(ipv4_ > 0);
  config->set_ipv6_forwarding(ipv6_ > 0);
  return config;
}

void NodePlan::MarkPushed() {
  marked_version_ = version_;
  since_mark_.clear();
}

template <typename Fn>
void NodePlan::ForEachChangedSinceMark(Fn fn) const {
  for (const auto& [forward, then] : since_mark_) {
    auto now = pieces_.find(forward);
    const Piece* current = now == pieces_.end() ? nullptr : now->second.get();
    // Changed and changed back is no change, as api::ComputeDelta sees it.
    if (then != nullptr && current != nullptr &&
        SameEntries(then->entries.dnat(), current->entries.dnat()) &&
        SameEntries(then->entries.return_routes(), current->entries.return_routes())) {
      continue;
    }
    if (Empty(then.get()) && Empty(current)) continue;
    fn(forward, current);
  }
}

std::optional<ferry::v1::NodeConfigDelta> NodePlan::DeltaSinceMark(
    const std::string& base_version) const {
  if (marked_version_.empty() || base_version != marked_version_) return std::nullopt;
  ferry::v1::NodeConfigDelta delta;
  delta.set_version(version_);
  delta.set_base_version(base_version);
  delta.set_ipv4_forwarding(ipv4_ > 0);
  delta.set_ipv6_forwarding(ipv6_ > 0);
  std::vector<const Piece*> changed;
  ForEachChangedSinceMark([&](const std::string& forward, const Piece* current) {
    delta.add_forwards(forward);
    if (current != nullptr) changed.push_back(current);
  });
  for (const Piece* p : changed) {
    for (const DnatRule& r : p->entries.dnat()) *delta.add_dnat() = r;
  }
  for (const Piece* p : changed) {
    for (const ReturnRoute& r : p->entries.return_routes()) *delta.add_return_routes() = r;
  }
  return delta;
}

size_t NodePlan::DeltaEntryBytesSinceMark() const {
  size_t bytes = 0;
  ForEachChangedSinceMark([&](const std::string& forward, const Piece* current) {
    bytes += 1 + CodedOutputStream::VarintSize64(forward.size()) + forward.size();
    if (current != nullptr) bytes += current->bytes;
  });
  return bytes;
}

}  // namespace ferry::controller
