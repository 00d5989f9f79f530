#ifndef FERRY_CONTROLLER_FLEET_STATUS_BUCKETS_H_
#define FERRY_CONTROLLER_FLEET_STATUS_BUCKETS_H_

// Forward statuses as replicas share them (ForwardStatuses on etcd): every
// forward hashes to one of kCount buckets, and each bucket is one store key
// (kind kKind) holding the current statuses of all its forwards. A
// publication rewrites only the buckets it touches; a follower lists them
// once and then applies each bucket change it reads from the log. Buckets,
// not a key per forward: 100k statuses turning Ready is 256 writes (about
// 120 bytes each), not 100k, and no bucket nears etcd's request size.

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::controller {

struct StatusBuckets {
  static constexpr char kKind[] = "StatusBucket";
  static constexpr size_t kCount = 256;

  using Bytes = std::shared_ptr<const std::string>;
  // One bucket: forward name -> encoded ferry.v1.IPForwardStatus.
  using Bucket = std::map<std::string, Bytes>;

  static size_t Of(const std::string& forward);
  // The store name of bucket `index` ("007").
  static std::string Name(size_t index);
  // Bucket index from a store name; kCount if it is none.
  static size_t Parse(const std::string& name);

  static std::string Encode(const Bucket& bucket);
  static absl::StatusOr<Bucket> Decode(const std::string& value);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_STATUS_BUCKETS_H_
