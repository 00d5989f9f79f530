// The dashboard's JSON views: what a page shows of the store, escaped so
// that no name or message can become markup, and bounded.

#include "controller/dashboard/dashboard_json.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/stored_objects.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller::dashboard {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ferry::v1::Object Forward(const std::string& name) {
  ferry::v1::Object o = TestForward(name, "192.0.2.1", 80);
  o.mutable_ip_forward()->mutable_metadata()->set_generation(1);
  return o;
}

TEST(DashboardJsonTest, ForwardsAreListedWithoutTheirStatusesWhenNoneAreGiven) {
  MemoryStore store;
  ASSERT_TRUE(PutForward(store, Forward("web")).ok());
  absl::StatusOr<std::string> json = ForwardsJson(&store, nullptr, ViewLimits{});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"web\""));
  EXPECT_THAT(*json, HasSubstr(R"("conditions":[],"nodes":[]})"));
  EXPECT_THAT(*json, HasSubstr("\"truncated\":false"));
}

TEST(DashboardJsonTest, ForwardsCarryTheFleetsStatus) {
  MemoryStore store;
  ASSERT_TRUE(PutForward(store, Forward("web")).ok());
  ASSERT_TRUE(PutForward(store, Forward("new")).ok());
  ForwardStatuses statuses(&store);
  ferry::v1::IPForwardStatus published;
  ferry::v1::NodeForwardStatus* node = published.add_nodes();
  node->set_name("node-a");
  node->set_state("Programmed");
  ASSERT_TRUE(
      statuses
          .Publish({{"web", std::make_shared<const std::string>(published.SerializeAsString())}})
          .ok());
  absl::StatusOr<std::string> json = ForwardsJson(&store, &statuses, ViewLimits{});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr(R"("nodes":[{"name":"node-a","role":"","state":"Programmed")"));
  // "new" has no status published yet: it is listed with no nodes.
  EXPECT_THAT(*json, HasSubstr(R"("name":"new")"));
  EXPECT_THAT(*json, HasSubstr(R"("nodes":[]})"));
}

TEST(DashboardJsonTest, TextThatLooksLikeMarkupIsEscaped) {
  MemoryStore store;
  ferry::v1::Object forward = Forward("web");
  (*forward.mutable_ip_forward()->mutable_metadata()->mutable_labels())["note"] =
      "</script><img src=x onerror=alert(1)>&";
  forward.mutable_ip_forward()->mutable_spec()->mutable_frontend()->set_address("<b>192.0.2.1</b>");
  ASSERT_TRUE(PutForward(store, forward).ok());
  absl::StatusOr<std::string> json = ForwardsJson(&store, nullptr, ViewLimits{});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, Not(HasSubstr("<")));
  EXPECT_THAT(*json, Not(HasSubstr(">")));
  EXPECT_THAT(*json, HasSubstr("\\u003cb\\u003e192.0.2.1"));
}

TEST(DashboardJsonTest, ListsStopAtTheirLimitAndSaySo) {
  MemoryStore store;
  for (const char* name : {"a", "b", "c"}) ASSERT_TRUE(PutForward(store, Forward(name)).ok());
  ViewLimits limits;
  limits.forwards = 2;
  absl::StatusOr<std::string> json = ForwardsJson(&store, nullptr, limits);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"a\""));
  EXPECT_THAT(*json, HasSubstr("\"b\""));
  EXPECT_THAT(*json, Not(HasSubstr("\"c\"")));
  EXPECT_THAT(*json, HasSubstr("\"truncated\":true"));
}

}  // namespace
}  // namespace ferry::controller::dashboard
