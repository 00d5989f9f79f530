#include "controller/planner/node_plan.h"

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "api/lib/wire.h"
#include "controller/planner/planner.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace ferry::controller {
namespace {

using ferry::v1::DnatRule;
using ferry::v1::NodeConfig;
using ferry::v1::NodeConfigDelta;
using ferry::v1::ReturnRoute;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;

constexpr uint64_t kDnatSeed = 0x444e4154ull;
constexpr uint64_t kRouteSeed = 0x52455455ull;

// splitmix64's finalizer: spreads FNV's weak low bits over the word, so
// that sums of entry hashes do not cancel out.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t HashBytes(absl::string_view bytes, uint64_t seed) {
  uint64_t hash = 14695981039346656037ull ^ seed;  // FNV-1a
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return Mix(hash);
}

// Appends `entry` as a length-delimited record of field `number` and
// returns the hash of its encoding (no map fields: deterministic).
uint64_t AppendRecord(int number, const google::protobuf::MessageLite& entry, uint64_t seed,
                      std::string* out) {
  const size_t size = entry.ByteSizeLong();
  api::AppendLengthPrefix(number, size, out);
  const size_t at = out->size();
  out->resize(at + size);
  entry.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out->data() + at));
  return HashBytes(absl::string_view(out->data() + at, size), seed);
}

// Appends `records` (length-delimited records of one-byte tags) with each
// record's tag replaced by field `number`'s: NodeConfig's entries become a
// NodeConfigDelta's.
void AppendRetagged(absl::string_view records, int number, std::string* out) {
  const char tag =
      static_cast<char>(WireFormatLite::MakeTag(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  CodedInputStream in(reinterpret_cast<const uint8_t*>(records.data()),
                      static_cast<int>(records.size()));
  size_t at = 0;
  while (at < records.size()) {
    uint32_t length = 0;
    in.Skip(1);
    in.ReadVarint32(&length);
    const size_t end = static_cast<size_t>(in.CurrentPosition()) + length;
    out->push_back(tag);
    out->append(records.data() + at + 1, end - at - 1);
    in.Skip(static_cast<int>(length));
    at = end;
  }
}

void AppendFlag(int number, bool value, std::string* out) {
  if (!value) return;  // proto3: a false bool is not written
  out->push_back(
      static_cast<char>(WireFormatLite::MakeTag(number, WireFormatLite::WIRETYPE_VARINT)));
  out->push_back(1);
}

}  // namespace

uint64_t EntryHash(const DnatRule& rule) { return HashBytes(rule.SerializeAsString(), kDnatSeed); }
uint64_t EntryHash(const ReturnRoute& route) {
  return HashBytes(route.SerializeAsString(), kRouteSeed);
}

std::string VersionOf(uint64_t entries_hash, bool ipv4_forwarding, bool ipv6_forwarding) {
  uint64_t flags = Mix(0x666c616773ull + (ipv4_forwarding ? 1 : 0) + (ipv6_forwarding ? 2 : 0));
  return absl::StrFormat("%016x", Mix(entries_hash ^ flags));
}

NodePlan::PiecePtr NodePlan::MakePiece(NodeConfig entries) {
  auto piece = std::make_shared<Piece>();
  SortConfigEntries(&entries);
  std::string& records = piece->records;
  for (const DnatRule& r : entries.dnat()) {
    piece->hash += AppendRecord(NodeConfig::kDnatFieldNumber, r, kDnatSeed, &records);
    piece->generation = r.generation();
  }
  piece->routes_at = static_cast<uint32_t>(records.size());
  for (const ReturnRoute& r : entries.return_routes()) {
    piece->hash += AppendRecord(NodeConfig::kReturnRoutesFieldNumber, r, kRouteSeed, &records);
    piece->generation = r.generation();
  }
  records.shrink_to_fit();
  piece->dnat_count = static_cast<uint32_t>(entries.dnat_size());
  piece->route_count = static_cast<uint32_t>(entries.return_routes_size());
  piece->ipv4_forwarding = entries.ipv4_forwarding();
  piece->ipv6_forwarding = entries.ipv6_forwarding();
  return piece;
}

bool NodePlan::SameEntries(const Piece& a, const Piece& b) {
  return a.routes_at == b.routes_at && a.hash == b.hash && a.records == b.records;
}

bool NodePlan::SameRecords(const Piece* a, const Piece* b) {
  const bool a_empty = a == nullptr || a->records.empty();
  const bool b_empty = b == nullptr || b->records.empty();
  if (a_empty || b_empty) return a_empty == b_empty;
  return SameEntries(*a, *b);
}

bool NodePlan::SamePiece(const Piece* a, const Piece* b) {
  if (a == b) return true;
  if (a == nullptr || b == nullptr) return false;
  return a->ipv4_forwarding == b->ipv4_forwarding && a->ipv6_forwarding == b->ipv6_forwarding &&
         SameEntries(*a, *b);
}

bool NodePlan::Put(const std::string& forward, PiecePtr piece) {
  auto it = pieces_.find(forward);
  const Piece* old = it == pieces_.end() ? nullptr : it->second.get();
  if (SamePiece(old, piece.get())) return false;
  since_mark_.try_emplace(forward, it == pieces_.end() ? nullptr : it->second);
  auto account = [this](const Piece& p, int sign) {
    hash_ += sign > 0 ? p.hash : -p.hash;
    bytes_ = sign > 0 ? bytes_ + p.records.size() : bytes_ - p.records.size();
    dnat_ += sign * static_cast<int>(p.dnat_count);
    routes_ += sign * static_cast<int>(p.route_count);
    ipv4_ += sign * (p.ipv4_forwarding ? 1 : 0);
    ipv6_ += sign * (p.ipv6_forwarding ? 1 : 0);
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

void NodePlan::AppendConfig(std::string* out) const {
  out->reserve(out->size() + ByteSize());
  if (!version_.empty()) api::AppendLengthDelimited(NodeConfig::kVersionFieldNumber, version_, out);
  // Pieces are sorted within and by forward name, so the whole is sorted;
  // and fields in number order are what protobuf itself writes.
  for (const auto& [forward, piece] : pieces_) out->append(piece->records, 0, piece->routes_at);
  for (const auto& [forward, piece] : pieces_) out->append(piece->records, piece->routes_at);
  AppendFlag(NodeConfig::kIpv4ForwardingFieldNumber, ipv4_ > 0, out);
  AppendFlag(NodeConfig::kIpv6ForwardingFieldNumber, ipv6_ > 0, out);
}

std::shared_ptr<NodeConfig> NodePlan::Materialize() const {
  std::string encoded;
  AppendConfig(&encoded);
  auto config = std::make_shared<NodeConfig>();
  config->ParseFromString(encoded);  // our own encoding of valid entries
  return config;
}

void NodePlan::MarkPushed() {
  marked_version_ = version_;
  since_mark_.clear();
}

std::optional<NodePlan::Delta> NodePlan::DeltaSinceMark(const std::string& base_version) const {
  if (marked_version_.empty() || base_version != marked_version_) return std::nullopt;
  Delta delta;
  std::string& out = delta.encoded;
  api::AppendLengthDelimited(NodeConfigDelta::kVersionFieldNumber, version_, &out);
  api::AppendLengthDelimited(NodeConfigDelta::kBaseVersionFieldNumber, base_version, &out);
  std::vector<const Piece*> changed;
  ForEachChangedSinceMark([&](const std::string& forward, const Piece* current) {
    api::AppendLengthDelimited(NodeConfigDelta::kForwardsFieldNumber, forward, &out);
    ++delta.forwards;
    if (current != nullptr) changed.push_back(current);
  });
  for (const Piece* p : changed) {
    AppendRetagged(p->dnat(), NodeConfigDelta::kDnatFieldNumber, &out);
  }
  for (const Piece* p : changed) {
    AppendRetagged(p->routes(), NodeConfigDelta::kReturnRoutesFieldNumber, &out);
  }
  AppendFlag(NodeConfigDelta::kIpv4ForwardingFieldNumber, ipv4_ > 0, &out);
  AppendFlag(NodeConfigDelta::kIpv6ForwardingFieldNumber, ipv6_ > 0, &out);
  return delta;
}

size_t NodePlan::DeltaEntryBytesSinceMark() const {
  size_t bytes = 0;
  ForEachChangedSinceMark([&](const std::string& forward, const Piece* current) {
    bytes += 1 + CodedOutputStream::VarintSize64(forward.size()) + forward.size();
    if (current != nullptr) bytes += current->records.size();
  });
  return bytes;
}

}  // namespace ferry::controller
