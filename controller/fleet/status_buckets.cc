#include "controller/fleet/status_buckets.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::controller {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(const std::string& in, size_t* at, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *at < in.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in[(*at)++]);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool GetString(const std::string& in, size_t* at, std::string* out) {
  uint64_t length = 0;
  if (!GetVarint(in, at, &length) || length > in.size() - *at) return false;
  out->assign(in, *at, length);
  *at += length;
  return true;
}

}  // namespace

size_t StatusBuckets::Of(const std::string& forward) {
  // absl::Hash is seeded per process; replicas must agree, so FNV-1a.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : forward) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h % kCount;
}

std::string StatusBuckets::Name(size_t index) { return absl::StrFormat("%03d", index); }

size_t StatusBuckets::Parse(const std::string& name) {
  size_t index = kCount;
  if (name.size() != 3 || !absl::SimpleAtoi(name, &index) || index >= kCount) return kCount;
  return index;
}

std::string StatusBuckets::Encode(const Bucket& bucket) {
  std::string out;
  for (const auto& [name, status] : bucket) {
    PutVarint(name.size(), &out);
    out += name;
    PutVarint(status->size(), &out);
    out += *status;
  }
  return out;
}

absl::StatusOr<StatusBuckets::Bucket> StatusBuckets::Decode(const std::string& value) {
  Bucket bucket;
  size_t at = 0;
  while (at < value.size()) {
    std::string name, status;
    if (!GetString(value, &at, &name) || !GetString(value, &at, &status)) {
      return absl::DataLossError(absl::StrCat("status bucket: truncated at byte ", at));
    }
    bucket.emplace(std::move(name), std::make_shared<const std::string>(std::move(status)));
  }
  return bucket;
}

}  // namespace ferry::controller
