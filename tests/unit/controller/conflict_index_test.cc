// ConflictIndex's compact form: forwards held as spec bytes (Put,
// PutSpecBytes) or borrowed (Add), in one index, with addresses written
// in different spellings and text that is not an address, answer exactly
// what CheckConflicts answers over the same forwards in name order.

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/planner/conflicts.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ferry::v1::IPForward;
using google::protobuf::util::MessageDifferencer;

// Few nodes, addresses (some equal in value, written differently) and
// ports, so that claims overlap often.
IPForward RandomForward(std::mt19937* rng, const std::string& name) {
  auto pick = [rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(*rng); };
  static const char* kFrontends[] = {"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:DB8:0::1",
                                     "not-an-address"};
  static const char* kBackends[] = {"10.8.0.2", "10.8.0.3", "2001:db8::2", "2001:0db8::2"};
  IPForward f;
  f.mutable_metadata()->set_name(name);
  auto* spec = f.mutable_spec();
  spec->mutable_frontend()->set_node_name(pick(3) == 0 ? "node-c" : "node-a");
  spec->mutable_frontend()->set_address(kFrontends[pick(5)]);
  spec->mutable_backend()->set_node_name("node-b");
  spec->mutable_backend()->set_address(kBackends[pick(4)]);
  for (int i = 0, n = 1 + (pick(3) == 0 ? 1 : 0); i < n; ++i) {
    auto* m = spec->add_ports();
    m->set_protocol(pick(4) == 0 ? ferry::v1::UDP : ferry::v1::TCP);
    m->set_port(80 + pick(12));
    if (pick(3) == 0) m->set_end_port(m->port() + pick(6));
    if (pick(2) == 0) m->set_target_port(8000 + pick(8));
  }
  if (pick(2) == 0) spec->set_source_ip(ferry::v1::MASQUERADE);
  return f;
}

TEST(ConflictIndexFormsTest, PutsInEveryFormAndRemovalsMatchTheFullCheck) {
  std::mt19937 rng(77);
  auto pick = [&rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  ConflictIndex index;
  std::map<std::string, IPForward> held;  // the oracle's copy, name order
  // Forwards given by Add: alive and unchanged while the index holds them.
  std::map<std::string, std::shared_ptr<const PlanForward>> borrowed;
  int conflicts = 0;
  for (int step = 0; step < 4000; ++step) {
    const std::string name = absl::StrCat("f", pick(40));
    const int action = pick(12);
    if (action < 6) {
      IPForward f = RandomForward(&rng, name);
      std::shared_ptr<const PlanForward> lent = PlanForward::Of(f);
      switch (action % 3) {
        case 0:
          index.Put(f);
          break;
        case 1:
          ASSERT_TRUE(index.PutSpecBytes(name, f.spec().SerializeAsString()));
          break;
        case 2:
          index.Add(lent.get());
          break;
      }
      // The replaced one, if borrowed, is released only now.
      if (action % 3 == 2) {
        borrowed[name] = std::move(lent);
      } else {
        borrowed.erase(name);
      }
      held[name] = f;
    } else if (action < 8) {
      EXPECT_EQ(index.Remove(name), held.erase(name) == 1);
      borrowed.erase(name);
    }
    IPForward candidate = RandomForward(&rng, absl::StrCat("f", pick(50)));
    std::vector<IPForward> all;
    for (const auto& [n, f] : held) all.push_back(f);
    absl::Status want = CheckConflicts(candidate, all);
    ASSERT_EQ(index.Check(candidate), want) << "step " << step;
    conflicts += want.ok() ? 0 : 1;
    ASSERT_EQ(index.size(), held.size());
  }
  // Every held forward reads back as it was given.
  for (const auto& [name, f] : held) {
    std::optional<IPForward> got = index.Find(name);
    ASSERT_TRUE(got.has_value()) << name;
    EXPECT_EQ(got->metadata().name(), name);
    EXPECT_TRUE(MessageDifferencer::Equals(got->spec(), f.spec())) << name;
    EXPECT_EQ(index.SpecBytes(name).has_value(), borrowed.count(name) == 0) << name;
  }
  EXPECT_GT(conflicts, 400);
  EXPECT_LT(conflicts, 3600);
}

TEST(ConflictIndexFormsTest, SpecBytesAreTheBytesPutAndBadBytesChangeNothing) {
  ConflictIndex index;
  IPForward web;
  web.mutable_metadata()->set_name("web");
  web.mutable_spec()->mutable_frontend()->set_node_name("node-a");
  web.mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  web.mutable_spec()->add_ports()->set_port(80);
  const std::string bytes = web.spec().SerializeAsString();
  ASSERT_TRUE(index.PutSpecBytes("web", bytes));
  ASSERT_TRUE(index.SpecBytes("web").has_value());
  EXPECT_EQ(*index.SpecBytes("web"), bytes);
  EXPECT_FALSE(index.PutSpecBytes("web", "\xff\xff not a spec"));
  EXPECT_EQ(*index.SpecBytes("web"), bytes);
  EXPECT_FALSE(index.SpecBytes("absent").has_value());

  IPForward other = web;
  other.mutable_metadata()->set_name("other");
  EXPECT_THAT(index.Check(other).message(), ::testing::HasSubstr("claimed by ipforward/web"));
  // Removing frees the node's and address's ids; a new forward on another
  // node and address gets them, and claims nothing of web's.
  ASSERT_TRUE(index.Remove("web"));
  IPForward moved = web;
  moved.mutable_metadata()->set_name("moved");
  moved.mutable_spec()->mutable_frontend()->set_node_name("node-z");
  moved.mutable_spec()->mutable_frontend()->set_address("198.51.100.7");
  index.Put(moved);
  EXPECT_TRUE(index.Check(other).ok());
  IPForward beside = moved;
  beside.mutable_metadata()->set_name("beside");
  EXPECT_THAT(index.Check(beside).message(), ::testing::HasSubstr("claimed by ipforward/moved"));
}

}  // namespace
}  // namespace ferry::controller
