#include "controller/resources/stored_forward_index.h"

#include <utility>

#include "absl/status/statusor.h"
#include "api/lib/objects.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace ferry::controller {
namespace {

using google::protobuf::internal::WireFormatLite;

// Field numbers in api/proto/ferry/v1/ferry.proto.
constexpr int kObjectIpForwardField = 1;
constexpr int kIPForwardSpecField = 4;

enum class Field { kAbsent, kFound, kUnusual };

// Finds the length-delimited field `number` among a message's top-level
// fields. kUnusual if the bytes do not parse or it appears more than once
// (protobuf would merge the copies; the caller then parses in full).
Field FindField(absl::string_view message, int number, absl::string_view* out) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(message.data()),
                                            static_cast<int>(message.size()));
  bool found = false;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (WireFormatLite::GetTagFieldNumber(tag) != number) {
      if (!WireFormatLite::SkipField(&in, tag)) return Field::kUnusual;
      continue;
    }
    uint32_t length = 0;
    if (found || WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
        !in.ReadVarint32(&length)) {
      return Field::kUnusual;
    }
    const size_t at = static_cast<size_t>(in.CurrentPosition());
    if (length > message.size() - at || !in.Skip(static_cast<int>(length))) {
      return Field::kUnusual;
    }
    *out = message.substr(at, length);
    found = true;
  }
  // ReadTag also answers 0 for a malformed tag; only the end is clean.
  if (static_cast<size_t>(in.CurrentPosition()) != message.size()) return Field::kUnusual;
  return found ? Field::kFound : Field::kAbsent;
}

// The stored forward's name (its key) and spec.
absl::StatusOr<ferry::v1::IPForward> DecodeClaims(const StoredObject& stored) {
  ferry::v1::IPForward forward;
  std::optional<absl::string_view> spec = ForwardSpecBytes(stored.value);
  if (!spec.has_value() ||
      !forward.mutable_spec()->ParseFromArray(spec->data(), static_cast<int>(spec->size()))) {
    absl::StatusOr<ferry::v1::Object> object = DecodeStored(stored);
    if (!object.ok()) return object.status();
    forward = std::move(*object->mutable_ip_forward());
  }
  forward.mutable_metadata()->set_name(stored.name);
  return forward;
}

}  // namespace

std::optional<absl::string_view> ForwardSpecBytes(absl::string_view value) {
  absl::string_view forward;
  if (FindField(value, kObjectIpForwardField, &forward) != Field::kFound) return std::nullopt;
  absl::string_view spec;
  switch (FindField(forward, kIPForwardSpecField, &spec)) {
    case Field::kFound:
      return spec;
    case Field::kAbsent:
      return absl::string_view();
    case Field::kUnusual:
      break;
  }
  return std::nullopt;
}

absl::Status StoredForwardIndex::CatchUp() {
  Unstage();
  if (!loaded_) return Reload();
  // Changes committed after this are concurrent with the caller's request,
  // as they were with a List; catching up to here keeps the loop bounded.
  const int64_t target = store_->CurrentRevision();
  while (feed_.revision() < target) {
    absl::StatusOr<ChangeFeed::Batch> batch = feed_.Next();
    if (absl::IsOutOfRange(batch.status())) return Reload();
    if (!batch.ok()) return batch.status();
    for (const Change& change : batch->changes) {
      if (absl::Status s = ApplyChange(change); !s.ok()) {
        loaded_ = false;  // half applied: start over from a List next time
        return s;
      }
    }
    if (batch->at_end) break;
  }
  return absl::OkStatus();
}

absl::Status StoredForwardIndex::Reload() {
  ConflictIndex fresh;
  absl::Status failed;
  absl::StatusOr<int64_t> listed =
      store_->List(api::kKindIPForward, [&](const StoredObject& stored) {
        absl::StatusOr<ferry::v1::IPForward> forward = DecodeClaims(stored);
        if (!forward.ok()) {
          failed = forward.status();
          return false;
        }
        fresh.Put(*forward);
        return true;
      });
  if (!listed.ok()) return listed.status();
  if (!failed.ok()) return failed;
  index_ = std::move(fresh);
  feed_.Reset(*listed);
  loaded_ = true;
  return absl::OkStatus();
}

absl::Status StoredForwardIndex::ApplyChange(const Change& change) {
  const std::string& name = change.object.name;
  if (change.type == Change::Type::kDelete) {
    index_.Remove(name);
    return absl::OkStatus();
  }
  // Most puts are status writes: the spec bytes are those of the held spec.
  const ferry::v1::IPForward* held = index_.Find(name);
  if (held != nullptr) {
    std::optional<absl::string_view> spec = ForwardSpecBytes(change.object.value);
    if (spec.has_value() && held->spec().SerializeAsString() == *spec) {
      return absl::OkStatus();
    }
  }
  absl::StatusOr<ferry::v1::IPForward> forward = DecodeClaims(change.object);
  if (!forward.ok()) return forward.status();
  index_.Put(*forward);
  return absl::OkStatus();
}

void StoredForwardIndex::Stage(const ferry::v1::IPForward& forward) {
  Staged staged;
  staged.name = forward.metadata().name();
  if (const ferry::v1::IPForward* held = index_.Find(staged.name); held != nullptr) {
    staged.replaced = *held;
  }
  staged_.push_back(std::move(staged));
  index_.Put(forward);
}

void StoredForwardIndex::Unstage() {
  // Newest first, so a name staged twice gets its original back.
  for (auto it = staged_.rbegin(); it != staged_.rend(); ++it) {
    if (it->replaced.has_value()) {
      index_.Put(*it->replaced);
    } else {
      index_.Remove(it->name);
    }
  }
  staged_.clear();
}

void StoredForwardIndex::Committed(int64_t revision) {
  staged_.clear();
  Advance(revision);
}

void StoredForwardIndex::Deleted(const std::string& name, int64_t revision) {
  if (!loaded_) return;
  index_.Remove(name);
  Advance(revision);
}

void StoredForwardIndex::Advance(int64_t revision) {
  if (loaded_ && revision == feed_.revision() + 1) feed_.Reset(revision);
}

}  // namespace ferry::controller
