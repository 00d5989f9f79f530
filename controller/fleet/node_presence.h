#ifndef FERRY_CONTROLLER_FLEET_NODE_PRESENCE_H_
#define FERRY_CONTROLLER_FLEET_NODE_PRESENCE_H_

// Which nodes' agents this controller has heard from since it started, and
// what each says about itself: its Hello (labels, addresses as its address
// updates replace them, agent version), its route sources, whether its
// stream is up and when it was last seen. The Node objects are written
// from this. Thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class NodePresence {
 public:
  struct Agent {
    // Connected since start and not forgotten since: its Node is written
    // back and planned for.
    bool seen = false;
    bool connected = false;  // its stream is up
    ferry::v1::Hello hello;
    // As its last AddressUpdate said (always the whole list). Unset until
    // one did since this controller started: the stored Node's are kept
    // then, because a Hello has no field for them and the agent sends them
    // right after it once it knows them.
    std::optional<google::protobuf::RepeatedPtrField<ferry::v1::RouteSource>> route_sources;
    absl::Time last_seen;
    // Hellos taken since start: a Node deleted while its agent was away is
    // written back only after a later one (StatusWriter::DesiredNodes).
    uint64_t connects = 0;
  };

  void Connected(const std::string& node, const ferry::v1::Hello& hello, absl::Time now);
  void AddressesChanged(const std::string& node, const ferry::v1::AddressUpdate& update);
  void Disconnected(const std::string& node, absl::Time now);
  // The Node was deleted: it is neither written back nor planned for until
  // its agent connects again. False if the node was never heard from.
  bool Forget(const std::string& node);

  // Every node heard from since start (forgotten ones included).
  std::map<std::string, Agent> Agents() const;
  std::set<std::string> ConnectedNodes() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, Agent> agents_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_NODE_PRESENCE_H_
