#ifndef FERRY_TESTS_UNIT_AGENT_NODE_CONFIGS_H_
#define FERRY_TESTS_UNIT_AGENT_NODE_CONFIGS_H_

// Builders of the pushes reconcile tests send: forwards on frontend
// 203.0.113.1, backend 10.8.0.2, return hop 10.8.0.1 unless a test says
// otherwise.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "api/lib/ip_address.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent::testing {

inline IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

struct Dnat {
  std::string forward;
  uint32_t port;
  std::string backend = "10.8.0.2";
  uint32_t target = 8080;
  bool masquerade = false;
  bool alert = false;
  std::string frontend = "203.0.113.1";
};

struct Return {
  std::string forward;
  uint32_t port;
  std::string via = "10.8.0.1";
  bool alert = false;
  std::string source = "10.8.0.2";
};

inline ferry::v1::DnatRule Rule(const Dnat& d) {
  ferry::v1::DnatRule rule;
  rule.set_forward(d.forward);
  rule.set_generation(1);
  rule.set_frontend_address(d.frontend);
  rule.set_protocol(ferry::v1::TCP);
  rule.set_port(d.port);
  rule.set_backend_address(d.backend);
  rule.set_target_port(d.target);
  rule.set_masquerade(d.masquerade);
  rule.set_alert_only(d.alert);
  return rule;
}

inline ferry::v1::ReturnRoute Route(const Return& r) {
  ferry::v1::ReturnRoute route;
  route.set_forward(r.forward);
  route.set_generation(1);
  route.set_source_address(r.source);
  route.set_protocol(ferry::v1::TCP);
  route.set_port(r.port);
  route.set_via(r.via);
  route.set_alert_only(r.alert);
  return route;
}

// IPv4 forwarding is asked for when there are DNAT entries.
inline ferry::v1::NodeConfig Config(absl::string_view version, const std::vector<Dnat>& dnat,
                                    const std::vector<Return>& returns = {}) {
  ferry::v1::NodeConfig config;
  config.set_version(std::string(version));
  config.set_ipv4_forwarding(!dnat.empty());
  for (const Dnat& d : dnat) *config.add_dnat() = Rule(d);
  for (const Return& r : returns) *config.add_return_routes() = Route(r);
  return config;
}

inline ferry::v1::NodeConfigDelta Delta(absl::string_view base, absl::string_view version,
                                        const std::vector<std::string>& forwards,
                                        const std::vector<Dnat>& dnat,
                                        const std::vector<Return>& returns = {}) {
  ferry::v1::NodeConfigDelta delta;
  delta.set_base_version(std::string(base));
  delta.set_version(std::string(version));
  delta.set_ipv4_forwarding(true);
  for (const std::string& f : forwards) delta.add_forwards(f);
  for (const Dnat& d : dnat) *delta.add_dnat() = Rule(d);
  for (const Return& r : returns) *delta.add_return_routes() = Route(r);
  return delta;
}

inline DnatKey Key(uint16_t port) { return DnatKey{Ip("203.0.113.1"), kProtoTcp, port}; }

}  // namespace ferry::agent::testing

#endif  // FERRY_TESTS_UNIT_AGENT_NODE_CONFIGS_H_
