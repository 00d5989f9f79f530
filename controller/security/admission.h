#ifndef FERRY_CONTROLLER_SECURITY_ADMISSION_H_
#define FERRY_CONTROLLER_SECURITY_ADMISSION_H_

// Admission policy: which addresses and ports a forward may claim, checked
// on every apply after validation and before anything is written (the
// lesson of CVE-2020-8554, fixed in Kubernetes by DenyServiceExternalIPs).
//
//   1. A frontend port range may not include a reserved port (default: 22
//      and the controller's own TCP ports), on any node.
//   2. A backend may not be loopback (127.0.0.0/8, ::1), link-local
//      (169.254.0.0/16, fe80::/10; cloud metadata lives there), unspecified,
//      multicast, or inside a configured deny list.
//   3. returnVia, when set, must be one of the frontend node's reported
//      addresses.
//   4. When a node has an allow-list of claimable addresses, the frontend
//      address must be inside it.
//
// Errors are INVALID_ARGUMENT naming the field, as validation's do:
//   spec.ports[0].port: port 22 is reserved on node-a
// The caller prefixes the object ("ipforward/web: ").

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/security/cidr.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

struct AdmissionPolicy {
  std::set<uint32_t> reserved_ports = {22};
  std::vector<std::string> backend_deny_cidrs;  // e.g. "10.0.0.0/8"
  // node name -> CIDRs its frontends may claim; nodes not listed: any of
  // their reported addresses.
  std::map<std::string, std::vector<std::string>> claimable_addresses;
};

// Reads an admission config file (YAML):
//   reservedPorts: [22, 7443]
//   backendDeny: [10.99.0.0/16]
//   nodes:
//     node-a: {claimableAddresses: [192.0.2.0/24]}
// Errors name the file, line and field. Keys left out keep `defaults`.
absl::StatusOr<AdmissionPolicy> LoadAdmissionPolicy(const std::string& path,
                                                    AdmissionPolicy defaults);

// Validates a policy's CIDRs and ports; INVALID_ARGUMENT naming the entry.
absl::Status ValidateAdmissionPolicy(const AdmissionPolicy& policy);

class Admission {
 public:
  // The stored Node, if the node has registered.
  using NodeLookup = std::function<std::optional<ferry::v1::Node>(const std::string& name)>;

  // The policy should have passed ValidateAdmissionPolicy; if it has not,
  // every Check fails (INTERNAL) rather than admit what it meant to refuse.
  explicit Admission(AdmissionPolicy policy);

  // OK or INVALID_ARGUMENT naming the field. `forward` has passed
  // api::ValidateObject. `nodes` is called only when returnVia is set.
  // Reserved ports apply to both protocols.
  absl::Status Check(const ferry::v1::IPForward& forward, const NodeLookup& nodes) const;

  const AdmissionPolicy& policy() const { return policy_; }

 private:
  absl::Status CheckBackend(const ferry::v1::Backend& backend) const;
  absl::Status CheckReturnVia(const ferry::v1::IPForwardSpec& spec, const NodeLookup& nodes) const;
  absl::Status CheckClaimable(const ferry::v1::Frontend& frontend) const;

  const AdmissionPolicy policy_;
  // The policy's CIDRs, parsed once.
  std::vector<Cidr> backend_deny_;
  std::map<std::string, std::vector<Cidr>> claimable_;
  absl::Status invalid_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SECURITY_ADMISSION_H_
