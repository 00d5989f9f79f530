#ifndef FERRY_API_LIB_TIMESTAMPS_H_
#define FERRY_API_LIB_TIMESTAMPS_H_

// absl::Time <-> google.protobuf.Timestamp, written once for every binary.

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace ferry::api {

// Seconds rounded down, so nanos is always in [0, 1e9).
inline void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

inline google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  SetTimestamp(t, &ts);
  return ts;
}

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace ferry::api

#endif  // FERRY_API_LIB_TIMESTAMPS_H_
