// NetlinkMarkBackend against a real kernel, inside a private namespace:
// table inet ferry_return holds exactly what Apply was given, reads back
// equal, lists as nft itself would write it, and changes made by hand show
// up on Load.

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_backends.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using Marks = std::map<std::string, uint32_t>;

const Marks kTwo = {{"wg-b1", ReturnMark(1)}, {"wg-b2", ReturnMark(2)}};

// The readable form the backend's batch must list as.
constexpr char kReadableTable[] = R"(table inet ferry_return {
  comment "managed by ferry-agent; do not edit"
  map marks {
    type ifname : mark
    elements = { "wg-b1" : 0x01000000, "wg-b2" : 0x02000000 }
  }
  chain mark_in {
    type filter hook prerouting priority mangle; policy accept;
    ct state new ct mark 0 ct mark set iifname map @marks comment "ferry:mark_in"
  }
  chain mark_out {
    type route hook output priority mangle; policy accept;
    meta mark 0 ct mark and 0xff000000 != 0 meta mark set ct mark and 0xff000000 comment "ferry:mark_out"
  }
}
)";

class MarkBackendTest : public testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    absl::StatusOr<std::unique_ptr<MarkBackend>> b = NewNetlinkMarkBackend();
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
  }
  void TearDown() override {
    backend_.reset();
    NetnsTest::TearDown();
  }

  MarkState MustLoad() {
    absl::StatusOr<MarkState> state = backend_->Load();
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *state : MarkState{};
  }

  void MustApply(const Marks& marks) {
    absl::Status s = backend_->Apply(marks);
    ASSERT_TRUE(s.ok()) << s;
  }

  std::string ListTable() { return MustInNetns("nft list table inet ferry_return"); }

  std::unique_ptr<MarkBackend> backend_;
};

TEST_F(MarkBackendTest, LoadReturnsWhatApplyWrote) {
  MustApply(kTwo);
  const MarkState state = MustLoad();
  EXPECT_TRUE(state.table_present);
  EXPECT_EQ(state.marks, kTwo);
  EXPECT_THAT(state.structure_drift, IsEmpty());
}

TEST_F(MarkBackendTest, AbsentTableLoadsAsAbsentAndEmpty) { EXPECT_EQ(MustLoad(), MarkState{}); }

TEST_F(MarkBackendTest, TableListsExactlyAsNftWritesItsReadableForm) {
  MustApply(kTwo);
  const std::string ours = ListTable();
  EXPECT_THAT(ours, HasSubstr("type ifname : mark"));
  EXPECT_THAT(ours, HasSubstr("\"wg-b1\" : 0x01000000"));
  EXPECT_THAT(ours, HasSubstr("type filter hook prerouting priority mangle; policy accept;"));
  EXPECT_THAT(ours, HasSubstr("ct state new ct mark 0x00000000 ct mark set iifname map @marks "
                              "comment \"ferry:mark_in\""));
  EXPECT_THAT(ours, HasSubstr("type route hook output priority mangle; policy accept;"));
  EXPECT_THAT(ours, HasSubstr("meta mark set ct mark & 0xff000000 comment \"ferry:mark_out\""));

  // nft's own encoding of the readable form lists the same, byte for byte.
  MustApply({});
  const std::string path = absl::StrCat("/tmp/", name(), "-ferry_return.nft");
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(kReadableTable, f);
  std::fclose(f);
  MustInNetns(absl::StrCat("nft -f ", path));
  std::remove(path.c_str());
  EXPECT_EQ(ours, ListTable());
  // And Ferry reads nft's table as its own.
  const MarkState state = MustLoad();
  EXPECT_EQ(state.marks, kTwo);
  EXPECT_THAT(state.structure_drift, IsEmpty());
}

TEST_F(MarkBackendTest, ApplyReplacesEveryElement) {
  MustApply(kTwo);
  const Marks next = {{"wg-b2", ReturnMark(3)}, {"wg-c1", ReturnMark(1)}};
  MustApply(next);
  EXPECT_EQ(MustLoad().marks, next);
  EXPECT_THAT(ListTable(), Not(HasSubstr("wg-b1")));
}

TEST_F(MarkBackendTest, EmptyMarksRemoveTheTableAndNeedNoTable) {
  MustApply({});  // nothing there: still fine
  MustApply(kTwo);
  MustApply({});
  EXPECT_NE(InNetns("nft list table inet ferry_return").exit_code, 0);
  EXPECT_EQ(MustLoad(), MarkState{});
  MustApply({});
}

TEST_F(MarkBackendTest, OtherTablesAreLeftAlone) {
  MustInNetns("nft add table inet other");
  MustInNetns("nft add chain inet other c");
  MustApply(kTwo);
  MustApply({});
  EXPECT_THAT(MustInNetns("nft list tables"), HasSubstr("table inet other"));
}

TEST_F(MarkBackendTest, InvalidMarksChangeNothing) {
  MustApply(kTwo);
  absl::Status s = backend_->Apply({{"wg-b1", 0x1}});
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("\"wg-b1\" : 0x00000001"));
  EXPECT_EQ(MustLoad().marks, kTwo);
}

TEST_F(MarkBackendTest, DeletedChainIsStructureDriftAndApplyRepairsIt) {
  MustApply(kTwo);
  MustInNetns(
      "nft 'flush chain inet ferry_return mark_out; delete chain inet ferry_return mark_out'");
  MarkState state = MustLoad();
  EXPECT_TRUE(state.table_present);
  EXPECT_EQ(state.marks, kTwo);
  EXPECT_THAT(state.structure_drift, Contains(Field(&StructureDrift::object, "chain mark_out")));
  MustApply(kTwo);
  state = MustLoad();
  EXPECT_THAT(state.structure_drift, IsEmpty());
  EXPECT_EQ(state.marks, kTwo);
}

TEST_F(MarkBackendTest, ReplacedRuleIsStructureDrift) {
  MustApply(kTwo);
  MustInNetns(
      "nft 'flush chain inet ferry_return mark_in; add rule inet ferry_return mark_in "
      "meta mark set 1 comment \"ferry:mark_in\"'");
  EXPECT_THAT(MustLoad().structure_drift,
              Contains(Field(&StructureDrift::object, "rule ferry:mark_in in chain mark_in")));
}

TEST_F(MarkBackendTest, DeletedElementIsMissingOnLoad) {
  MustApply(kTwo);
  MustInNetns("nft delete element inet ferry_return marks '{ \"wg-b2\" }'");
  const MarkState state = MustLoad();
  EXPECT_EQ(state.marks, (Marks{{"wg-b1", ReturnMark(1)}}));
  EXPECT_THAT(state.structure_drift, IsEmpty());
}

TEST_F(MarkBackendTest, ForeignElementIsReadAsFound) {
  MustApply(kTwo);
  MustInNetns("nft add element inet ferry_return marks '{ \"eth9\" : 0x00000005 }'");
  const MarkState state = MustLoad();
  Marks want = kTwo;
  want["eth9"] = 5;
  EXPECT_EQ(state.marks, want);
  // The next Apply drops it.
  MustApply(kTwo);
  EXPECT_EQ(MustLoad().marks, kTwo);
}

TEST_F(MarkBackendTest, MapOfOtherTypesIsDriftAndItsElementsUnread) {
  MustInNetns(
      "nft 'add table inet ferry_return; add map inet ferry_return marks "
      "{ type ifname : ipv4_addr; elements = { \"wg-b1\" : 10.0.0.1 } }'");
  const MarkState state = MustLoad();
  EXPECT_TRUE(state.table_present);
  EXPECT_THAT(state.marks, IsEmpty());
  EXPECT_THAT(state.structure_drift, Contains(Field(&StructureDrift::object, "map marks")));
  EXPECT_THAT(state.structure_drift, Contains(Field(&StructureDrift::object, "chain mark_in")));
}

}  // namespace
}  // namespace ferry::agent
