// Admission policy (controller/security/admission.h): every rule with its
// message, the policy's own validation, and the config file's errors.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "controller/security/admission.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

ferry::v1::IPForward Forward(const std::string& backend = "10.8.0.2") {
  ferry::v1::IPForward f;
  f.mutable_metadata()->set_name("web");
  f.mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f.mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f.mutable_spec()->mutable_backend()->set_node_name("node-b");
  f.mutable_spec()->mutable_backend()->set_address(backend);
  auto* p = f.mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(8080);
  return f;
}

void AddPorts(ferry::v1::IPForward* f, uint32_t port, uint32_t end_port) {
  auto* p = f->mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::UDP);
  p->set_port(port);
  p->set_end_port(end_port);
}

ferry::v1::Node NodeWith(std::initializer_list<const char*> addresses) {
  ferry::v1::Node node;
  node.mutable_metadata()->set_name("node-a");
  for (const char* a : addresses) node.mutable_status()->add_addresses()->set_address(a);
  return node;
}

Admission::NodeLookup Nodes(std::optional<ferry::v1::Node> node) {
  return [node](const std::string& name) -> std::optional<ferry::v1::Node> {
    return name == "node-a" ? node : std::nullopt;
  };
}

AdmissionPolicy Policy() {
  AdmissionPolicy policy;
  policy.reserved_ports = {22, 7443};
  return policy;
}

std::string Message(const Admission& admission, const ferry::v1::IPForward& f,
                    const Admission::NodeLookup& nodes = Nodes(std::nullopt)) {
  absl::Status s = admission.Check(f, nodes);
  if (s.ok()) return "OK";
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  return std::string(s.message());
}

// ------------------------------------------------------------ reserved ports

TEST(AdmissionTest, AForwardOnAnOrdinaryPortIsAdmitted) {
  EXPECT_EQ(Message(Admission(Policy()), Forward()), "OK");
}

TEST(AdmissionTest, AReservedPortIsRefusedNamingThePortAndNode) {
  ferry::v1::IPForward f = Forward();
  f.mutable_spec()->mutable_ports(0)->set_port(22);
  EXPECT_EQ(Message(Admission(Policy()), f), "spec.ports[0].port: port 22 is reserved on node-a");
}

TEST(AdmissionTest, ARangeThatIncludesAReservedPortIsRefused) {
  ferry::v1::IPForward f = Forward();
  AddPorts(&f, 7000, 8000);
  EXPECT_EQ(
      Message(Admission(Policy()), f),
      "spec.ports[1].port: port 7443 is reserved on node-a (the range 7000-8000 includes it)");
}

TEST(AdmissionTest, ARangeBetweenReservedPortsIsAdmitted) {
  ferry::v1::IPForward f = Forward();
  AddPorts(&f, 23, 7442);
  EXPECT_EQ(Message(Admission(Policy()), f), "OK");
}

TEST(AdmissionTest, TheDefaultPolicyReservesPort22) {
  ferry::v1::IPForward f = Forward();
  AddPorts(&f, 1, 100);
  EXPECT_THAT(Message(Admission(AdmissionPolicy{}), f), HasSubstr("port 22 is reserved on node-a"));
}

// ------------------------------------------------------------------ backend

TEST(AdmissionTest, ALinkLocalBackendIsRefusedSayingSo) {
  EXPECT_EQ(Message(Admission(Policy()), Forward("169.254.169.254")),
            "spec.backend.address: 169.254.169.254 is link-local; a backend may not be loopback, "
            "link-local or in the deny list");
}

TEST(AdmissionTest, LoopbackAndLinkLocalAreRefusedInBothFamilies) {
  const Admission admission(Policy());
  const std::pair<const char*, const char*> cases[] = {
      {"127.0.0.1", "is loopback;"},
      {"127.9.9.9", "is loopback;"},
      {"::1", "is loopback;"},
      {"fe80::1", "is link-local;"},
      {"febf::1", "is link-local;"},
      {"::ffff:127.0.0.1", "is loopback;"},
      {"::ffff:169.254.169.254", "is link-local;"},
  };
  for (const auto& [address, what] : cases) {
    EXPECT_THAT(Message(admission, Forward(address)),
                HasSubstr(absl::StrCat("spec.backend.address: ", address, " ", what)));
  }
}

TEST(AdmissionTest, UnspecifiedMulticastAndBroadcastBackendsAreRefused) {
  const Admission admission(Policy());
  const std::pair<const char*, const char*> cases[] = {
      {"0.0.0.0", "unspecified"},       {"::", "unspecified"},
      {"224.0.0.1", "multicast"},       {"ff02::1", "multicast"},
      {"255.255.255.255", "broadcast"},
  };
  for (const auto& [address, what] : cases) {
    EXPECT_EQ(Message(admission, Forward(address)),
              absl::StrCat("spec.backend.address: ", address, " is ", what,
                           "; a backend must be a unicast address"));
  }
}

TEST(AdmissionTest, ABackendInTheDenyListIsRefusedNamingTheBlock) {
  AdmissionPolicy policy = Policy();
  policy.backend_deny_cidrs = {"10.99.0.0/16", "fd00:99::/32"};
  const Admission admission(policy);
  EXPECT_EQ(Message(admission, Forward("10.99.3.4")),
            "spec.backend.address: 10.99.3.4 is in the deny list (10.99.0.0/16); a backend may "
            "not be loopback, link-local or in the deny list");
  EXPECT_THAT(Message(admission, Forward("fd00:99::7")),
              HasSubstr("fd00:99::7 is in the deny list (fd00:99::/32)"));
  EXPECT_THAT(Message(admission, Forward("::ffff:10.99.0.1")),
              HasSubstr("is in the deny list (10.99.0.0/16)"));
  EXPECT_EQ(Message(admission, Forward("10.98.0.1")), "OK");
  EXPECT_EQ(Message(admission, Forward("2001:db8::1")), "OK");
}

// ---------------------------------------------------------------- returnVia

ferry::v1::IPForward ReturnVia(const std::string& via) {
  ferry::v1::IPForward f = Forward();
  f.mutable_spec()->mutable_backend()->set_return_via(via);
  return f;
}

TEST(AdmissionTest, ReturnViaMustBeAnAddressTheFrontendNodeReports) {
  const Admission admission(Policy());
  auto nodes = Nodes(NodeWith({"192.0.2.1", "10.8.0.1"}));
  EXPECT_EQ(Message(admission, ReturnVia("10.8.0.1"), nodes), "OK");
  EXPECT_EQ(Message(admission, ReturnVia("10.9.9.9"), nodes),
            "spec.backend.returnVia: 10.9.9.9 is not an address of node-a (it reports 192.0.2.1, "
            "10.8.0.1)");
}

TEST(AdmissionTest, ReturnViaIsComparedAsAnAddressNotAsText) {
  auto nodes = Nodes(NodeWith({"2001:db8::1"}));
  EXPECT_EQ(Message(Admission(Policy()), ReturnVia("2001:DB8:0::1"), nodes), "OK");
}

TEST(AdmissionTest, ReturnViaIsRefusedWhileTheNodeHasReportedNoAddresses) {
  const Admission admission(Policy());
  const std::string expected =
      "spec.backend.returnVia: 10.8.0.1 is not an address of node-a (node-a has not reported its "
      "addresses yet)";
  EXPECT_EQ(Message(admission, ReturnVia("10.8.0.1"), Nodes(std::nullopt)), expected);
  EXPECT_EQ(Message(admission, ReturnVia("10.8.0.1"), Nodes(NodeWith({}))), expected);
}

TEST(AdmissionTest, NodesAreLookedUpOnlyWhenReturnViaIsSet) {
  int lookups = 0;
  Admission::NodeLookup counting = [&](const std::string&) -> std::optional<ferry::v1::Node> {
    ++lookups;
    return std::nullopt;
  };
  EXPECT_TRUE(Admission(Policy()).Check(Forward(), counting).ok());
  EXPECT_EQ(lookups, 0);
}

// --------------------------------------------------------------- claimable

TEST(AdmissionTest, AFrontendOutsideTheNodesAllowListIsRefused) {
  AdmissionPolicy policy = Policy();
  policy.claimable_addresses["node-a"] = {"192.0.2.128/25"};
  EXPECT_EQ(
      Message(Admission(policy), Forward()),
      "spec.frontend.address: 192.0.2.1 is not claimable on node-a (allowed: 192.0.2.128/25)");
}

TEST(AdmissionTest, AFrontendInsideTheAllowListIsAdmitted) {
  AdmissionPolicy policy = Policy();
  policy.claimable_addresses["node-a"] = {"198.51.100.0/24", "192.0.2.0/24"};
  EXPECT_EQ(Message(Admission(policy), Forward()), "OK");
}

TEST(AdmissionTest, NodesWithoutAnAllowListMayClaimAnyAddress) {
  AdmissionPolicy policy = Policy();
  policy.claimable_addresses["node-z"] = {"198.51.100.0/24"};
  EXPECT_EQ(Message(Admission(policy), Forward()), "OK");
}

TEST(AdmissionTest, AnEmptyAllowListAllowsNothing) {
  AdmissionPolicy policy = Policy();
  policy.claimable_addresses["node-a"] = {};
  EXPECT_EQ(Message(Admission(policy), Forward()),
            "spec.frontend.address: 192.0.2.1 is not claimable on node-a (allowed: none)");
}

// ----------------------------------------------------------- policy checks

TEST(AdmissionPolicyTest, ValidationNamesTheBadEntry) {
  AdmissionPolicy policy;
  policy.reserved_ports = {0};
  EXPECT_EQ(ValidateAdmissionPolicy(policy).message(),
            "reservedPorts: 0 is not a port; ports are 1..65535");
  policy = AdmissionPolicy{};
  policy.backend_deny_cidrs = {"10.0.0.0/8", "10.0.0.0/33"};
  EXPECT_EQ(ValidateAdmissionPolicy(policy).message(),
            "backendDeny[1]: \"10.0.0.0/33\": the prefix length must be 0..32, got \"33\"");
  policy = AdmissionPolicy{};
  policy.claimable_addresses["node-a"] = {"192.0.2.1/24"};
  EXPECT_EQ(ValidateAdmissionPolicy(policy).message(),
            "nodes.node-a.claimableAddresses[0]: \"192.0.2.1/24\" has host bits set; did you mean "
            "192.0.2.0/24?");
  policy.claimable_addresses["node-a"] = {"node-a.example"};
  EXPECT_THAT(std::string(ValidateAdmissionPolicy(policy).message()),
              HasSubstr("\"node-a.example\" is not a CIDR block such as 10.0.0.0/8"));
}

TEST(AdmissionPolicyTest, ABareAddressIsASingleHostBlock) {
  AdmissionPolicy policy = Policy();
  policy.backend_deny_cidrs = {"10.8.0.2", "2001:db8::/128"};
  ASSERT_TRUE(ValidateAdmissionPolicy(policy).ok());
  EXPECT_THAT(Message(Admission(policy), Forward("10.8.0.2")), HasSubstr("in the deny list"));
  EXPECT_EQ(Message(Admission(policy), Forward("10.8.0.3")), "OK");
}

TEST(AdmissionPolicyTest, AnInvalidPolicyRefusesEveryForward) {
  AdmissionPolicy policy = Policy();
  policy.backend_deny_cidrs = {"not-a-cidr"};
  absl::Status s = Admission(policy).Check(Forward(), Nodes(std::nullopt));
  EXPECT_TRUE(absl::IsInternal(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("admission policy: backendDeny[0]"));
}

// ------------------------------------------------------------- config file

class AdmissionConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(::testing::TempDir(), "/ferry-admission-", getpid(), "-",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".yaml");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  absl::StatusOr<AdmissionPolicy> Load(const std::string& yaml) {
    { std::ofstream(path_) << yaml; }
    return LoadAdmissionPolicy(path_, Policy());
  }
  std::string Error(const std::string& yaml) {
    absl::StatusOr<AdmissionPolicy> policy = Load(yaml);
    EXPECT_FALSE(policy.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(policy.status())) << policy.status();
    return std::string(policy.status().message());
  }

  std::string path_;
};

TEST_F(AdmissionConfigTest, ReadsEveryField) {
  absl::StatusOr<AdmissionPolicy> policy = Load(
      "reservedPorts: [22, 2379]\n"
      "backendDeny: [10.99.0.0/16, \"fd00::/8\"]\n"
      "nodes:\n"
      "  node-a: {claimableAddresses: [192.0.2.0/24]}\n"
      "  node-b:\n"
      "    claimableAddresses:\n"
      "    - 198.51.100.7\n");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_THAT(policy->reserved_ports, ::testing::ElementsAre(22, 2379));
  EXPECT_THAT(policy->backend_deny_cidrs, ::testing::ElementsAre("10.99.0.0/16", "fd00::/8"));
  EXPECT_THAT(policy->claimable_addresses["node-a"], ::testing::ElementsAre("192.0.2.0/24"));
  EXPECT_THAT(policy->claimable_addresses["node-b"], ::testing::ElementsAre("198.51.100.7"));
}

TEST_F(AdmissionConfigTest, KeysLeftOutKeepTheDefaults) {
  absl::StatusOr<AdmissionPolicy> policy = Load("backendDeny: [10.0.0.0/8]\n");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_THAT(policy->reserved_ports, ::testing::ElementsAre(22, 7443));
  policy = Load("");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_THAT(policy->reserved_ports, ::testing::ElementsAre(22, 7443));
}

TEST_F(AdmissionConfigTest, ABadPortNamesFileLineColumnAndIndex) {
  EXPECT_EQ(Error("reservedPorts: [22, ssh]\n"),
            path_ + ":1:21: reservedPorts[1]: must be a port 1..65535, got string \"ssh\"");
  EXPECT_EQ(Error("reservedPorts:\n- 22\n- 70000\n"),
            path_ + ":3:3: reservedPorts[1]: must be a port 1..65535, got number \"70000\"");
}

TEST_F(AdmissionConfigTest, UnknownKeysAreRefused) {
  EXPECT_EQ(Error("reservedPorts: [22]\nbackendDenied: []\n"),
            path_ +
                ":2:1: backendDenied: unknown field \"backendDenied\"; expected one of: "
                "reservedPorts, backendDeny, nodes");
  EXPECT_EQ(Error("nodes:\n  node-a: {claimable: []}\n"),
            path_ +
                ":2:12: nodes.node-a.claimable: unknown field \"claimable\"; expected one "
                "of: claimableAddresses");
}

TEST_F(AdmissionConfigTest, ABadCidrIsRefusedWhereItStands) {
  EXPECT_EQ(Error("backendDeny:\n  - 10.0.0.1/8\n"),
            path_ +
                ":2:5: backendDeny[0]: \"10.0.0.1/8\" has host bits set; did you mean "
                "10.0.0.0/8?");
  EXPECT_THAT(Error("nodes:\n  node-a:\n    claimableAddresses: [1.2.3.4/40]\n"),
              HasSubstr(":3:26: nodes.node-a.claimableAddresses[0]: \"1.2.3.4/40\": the prefix "
                        "length must be 0..32"));
}

TEST_F(AdmissionConfigTest, WrongShapesAreRefused) {
  EXPECT_THAT(Error("- 22\n"), HasSubstr(":1:1: an admission config must be a map"));
  EXPECT_EQ(Error("reservedPorts: 22\n"),
            path_ + ":1:16: reservedPorts: must be a list, got number");
  EXPECT_THAT(Error("a: 1\n---\nb: 2\n"), HasSubstr("one YAML document"));
}

TEST_F(AdmissionConfigTest, AMissingFileIsNotFound) {
  absl::StatusOr<AdmissionPolicy> policy = LoadAdmissionPolicy(path_ + ".missing", Policy());
  EXPECT_TRUE(absl::IsNotFound(policy.status())) << policy.status();
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr("--admission-config: cannot read"));
}

}  // namespace
}  // namespace ferry::controller
