#include "controller/fleet/node_presence.h"

namespace ferry::controller {

void NodePresence::Connected(const std::string& node, const ferry::v1::Hello& hello,
                             absl::Time now) {
  absl::MutexLock l(&mu_);
  Agent& agent = agents_[node];
  agent.seen = true;
  agent.connected = true;
  ++agent.connects;
  agent.hello = hello;
  agent.last_seen = now;
}

void NodePresence::AddressesChanged(const std::string& node,
                                    const ferry::v1::AddressUpdate& update) {
  absl::MutexLock l(&mu_);
  Agent& agent = agents_[node];
  *agent.hello.mutable_addresses() = update.addresses();
  agent.route_sources = update.route_sources();
}

void NodePresence::Disconnected(const std::string& node, absl::Time now) {
  absl::MutexLock l(&mu_);
  Agent& agent = agents_[node];
  agent.connected = false;
  agent.last_seen = now;
}

bool NodePresence::Forget(const std::string& node) {
  absl::MutexLock l(&mu_);
  auto it = agents_.find(node);
  if (it == agents_.end()) return false;
  it->second.seen = false;
  it->second.connected = false;
  return true;
}

std::map<std::string, NodePresence::Agent> NodePresence::Agents() const {
  absl::MutexLock l(&mu_);
  return agents_;
}

std::set<std::string> NodePresence::ConnectedNodes() const {
  absl::MutexLock l(&mu_);
  std::set<std::string> out;
  for (const auto& [name, agent] : agents_) {
    if (agent.connected) out.insert(name);
  }
  return out;
}

}  // namespace ferry::controller
