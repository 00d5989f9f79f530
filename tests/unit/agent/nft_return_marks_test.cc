// Spec: table inet ferry_return is rebuilt whole in one batch of the
// messages `nft --debug=netlink,mnl` (nftables 1.0.6) sends for it, its
// elements parse back as written, invalid marks are refused naming the
// element, and its structure compares against what Ferry creates.

#include "node-agent/kernel/nft_return_marks.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/nft_handles.h"
#include "node-agent/kernel/nft_structure.h"

namespace ferry::agent::nft {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

using Marks = std::map<std::string, uint32_t>;

const Marks kTwo = {{"wg-b1", ReturnMark(1)}, {"wg-b2", ReturnMark(2)}};

bool IsNft(const nlmsghdr* nlh) { return (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES; }

std::vector<uint16_t> Types(const NetlinkBatch& batch) {
  std::vector<uint16_t> types;
  for (size_t i = 0; i < batch.message_count(); ++i) {
    const nlmsghdr* nlh = batch.message(i);
    types.push_back(IsNft(nlh) ? nlh->nlmsg_type & 0xff : nlh->nlmsg_type);
  }
  return types;
}

std::string Hex(const void* data, uint32_t len) {
  std::string out;
  for (uint32_t i = 0; i < len; ++i) {
    absl::StrAppend(&out, i ? " " : "",
                    absl::Hex(static_cast<const uint8_t*>(data)[i], absl::kZeroPad2));
  }
  return out;
}

const nlmsghdr* FindMessage(const NetlinkBatch& batch, uint16_t type) {
  for (size_t i = 0; i < batch.message_count(); ++i) {
    const nlmsghdr* nlh = batch.message(i);
    if (IsNft(nlh) && (nlh->nlmsg_type & 0xff) == type) return nlh;
  }
  return nullptr;
}

std::string RuleText(const nlmsghdr* nlh) {
  RulePtr r(nftnl_rule_alloc());
  EXPECT_EQ(nftnl_rule_nlmsg_parse(nlh, r.get()), 0);
  char buf[4096];
  nftnl_rule_snprintf(buf, sizeof(buf), r.get(), NFTNL_OUTPUT_DEFAULT, 0);
  return buf;
}

// A NEWSETELEM dump reply of map marks holding one element with a key and
// a value of the given sizes.
std::vector<char> ElementReply(const std::string& key, const std::string& value,
                               const char* set = kMarksMapName) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh =
      nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_MULTI, 1);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, kReturnTableName);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
  nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
  nlattr* elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
  nlattr* k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, key.size(), key.data());
  mnl_attr_nest_end(nlh, k);
  nlattr* d = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, value.size(), value.data());
  mnl_attr_nest_end(nlh, d);
  mnl_attr_nest_end(nlh, elem);
  mnl_attr_nest_end(nlh, list);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

std::string Key(const char* name) {
  std::string key(kIfnameKeyLength, '\0');
  key.replace(0, strlen(name), name);
  return key;
}

std::string Value(uint32_t mark) { return std::string(reinterpret_cast<const char*>(&mark), 4); }

const nlmsghdr* Header(const std::vector<char>& bytes) {
  return reinterpret_cast<const nlmsghdr*>(bytes.data());
}

// --- the batch ---

TEST(NftReturnMarksTest, MarksRebuildTheWholeTableInOneBatch) {
  absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch(kTwo, 50);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_THAT(Types(*batch), ElementsAre(NFNL_MSG_BATCH_BEGIN, NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE,
                                         NFT_MSG_NEWTABLE, NFT_MSG_NEWSET, NFT_MSG_NEWCHAIN,
                                         NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE,
                                         NFT_MSG_NEWSETELEM, NFNL_MSG_BATCH_END));
  for (size_t i = 0; i < batch->message_count(); ++i) {
    EXPECT_EQ(batch->message(i)->nlmsg_seq, 50 + i);
  }
  EXPECT_EQ(batch->acks_expected(), batch->message_count() - 2);
  TablePtr t(nftnl_table_alloc());
  ASSERT_EQ(nftnl_table_nlmsg_parse(batch->message(1), t.get()), 0);
  EXPECT_STREQ(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME), "ferry_return");
  EXPECT_EQ(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FLAGS), 0u);
}

TEST(NftReturnMarksTest, EmptyMarksDeleteTheTableEvenWhenAbsent) {
  absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch({}, 1);
  ASSERT_TRUE(batch.ok()) << batch.status();
  // NEWTABLE first, so DELTABLE has a table to delete either way.
  EXPECT_THAT(Types(*batch), ElementsAre(NFNL_MSG_BATCH_BEGIN, NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE,
                                         NFNL_MSG_BATCH_END));
  EXPECT_THAT(Types(BuildDeleteMarkTableBatch(1)), Types(*batch));
}

TEST(NftReturnMarksTest, MapHasNftsTypeIdsAndUserdata) {
  absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch(kTwo, 1);
  ASSERT_TRUE(batch.ok());
  SetPtr s(nftnl_set_alloc());
  ASSERT_EQ(nftnl_set_nlmsg_parse(FindMessage(*batch, NFT_MSG_NEWSET), s.get()), 0);
  EXPECT_STREQ(nftnl_set_get_str(s.get(), NFTNL_SET_NAME), "marks");
  EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS), static_cast<uint32_t>(NFT_SET_MAP));
  EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE), 41u);  // ifname
  EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN), 16u);
  EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_TYPE), 19u);  // mark
  EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_LEN), 4u);
  uint32_t len = 0;
  const void* ud = nftnl_set_get_data(s.get(), NFTNL_SET_USERDATA, &len);
  ASSERT_NE(ud, nullptr);
  // Key and data host-endian, data not an interval: nft 1.0.6's bytes.
  EXPECT_EQ(Hex(ud, len), "00 04 01 00 00 00 01 04 01 00 00 00 06 04 00 00 00 00");
}

TEST(NftReturnMarksTest, RulesAreTheExpressionsNftGenerates) {
  absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch(kTwo, 1);
  ASSERT_TRUE(batch.ok());
  EXPECT_THAT(RuleText(batch->message(7)), HasSubstr("inet ferry_return mark_in\n"
                                                     "  [ ct load state => reg 1 ]\n"
                                                     "  [ bitwise reg 1 = ( reg 1 & 0x00000008 ) "
                                                     "^ 0x00000000 ]\n"
                                                     "  [ cmp neq reg 1 0x00000000 ]\n"
                                                     "  [ ct load mark => reg 1 ]\n"
                                                     "  [ cmp eq reg 1 0x00000000 ]\n"
                                                     "  [ meta load iifname => reg 1 ]\n"
                                                     "  [ lookup reg 1 set marks dreg 1 ]\n"
                                                     "  [ ct set mark with reg 1 ]\n"));
  EXPECT_THAT(RuleText(batch->message(8)), HasSubstr("inet ferry_return mark_out\n"
                                                     "  [ meta load mark => reg 1 ]\n"
                                                     "  [ cmp eq reg 1 0x00000000 ]\n"
                                                     "  [ ct load mark => reg 1 ]\n"
                                                     "  [ bitwise reg 1 = ( reg 1 & 0xff000000 ) "
                                                     "^ 0x00000000 ]\n"
                                                     "  [ cmp neq reg 1 0x00000000 ]\n"
                                                     "  [ ct load mark => reg 1 ]\n"
                                                     "  [ bitwise reg 1 = ( reg 1 & 0xff000000 ) "
                                                     "^ 0x00000000 ]\n"
                                                     "  [ meta set mark with reg 1 ]\n"));
}

TEST(NftReturnMarksTest, ChainsAndRuleTagsAreFerrys) {
  const TableShape& shape = ExpectedMarkShape();
  EXPECT_EQ(shape.table, "ferry_return");
  ASSERT_THAT(shape.chains, SizeIs(2));
  EXPECT_EQ(shape.chains[0],
            (ChainShape{"mark_in", "filter", NF_INET_PRE_ROUTING, -150, NF_ACCEPT}));
  EXPECT_EQ(shape.chains[1], (ChainShape{"mark_out", "route", NF_INET_LOCAL_OUT, -150, NF_ACCEPT}));
  ASSERT_THAT(shape.rules, SizeIs(2));
  EXPECT_EQ(shape.rules[0].tag, kMarkInTag);
  EXPECT_EQ(shape.rules[0].expressions, "ct bitwise cmp ct cmp meta lookup @marks ct");
  EXPECT_EQ(shape.rules[1].tag, kMarkOutTag);
  ASSERT_THAT(shape.sets, SizeIs(1));
}

TEST(NftReturnMarksTest, ElementsParseBackAsWritten) {
  absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch(kTwo, 1);
  ASSERT_TRUE(batch.ok());
  // Interface names are NUL-padded to IFNAMSIZ, marks host-endian.
  SetPtr s(nftnl_set_alloc());
  ASSERT_EQ(nftnl_set_elems_nlmsg_parse(FindMessage(*batch, NFT_MSG_NEWSETELEM), s.get()), 0);
  std::vector<std::string> seen;
  nftnl_set_elem_foreach(
      s.get(),
      [](nftnl_set_elem* e, void* out) {
        uint32_t len = 0;
        const void* key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        static_cast<std::vector<std::string>*>(out)->push_back(Hex(key, len));
        return 0;
      },
      &seen);
  EXPECT_THAT(seen, ElementsAre("77 67 2d 62 31 00 00 00 00 00 00 00 00 00 00 00",
                                "77 67 2d 62 32 00 00 00 00 00 00 00 00 00 00 00"));
  Marks parsed;
  absl::Status st = ParseMarkElements(FindMessage(*batch, NFT_MSG_NEWSETELEM), &parsed);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(parsed, kTwo);
}

TEST(NftReturnMarksTest, LongestInterfaceNameAndHighestMarkRoundTrip) {
  const Marks marks = {{"abcdefghijklmno", ReturnMark(kMaxReturnMarks)}};
  absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch(marks, 1);
  ASSERT_TRUE(batch.ok()) << batch.status();
  Marks parsed;
  ASSERT_TRUE(ParseMarkElements(FindMessage(*batch, NFT_MSG_NEWSETELEM), &parsed).ok());
  EXPECT_EQ(parsed, marks);
}

TEST(NftReturnMarksTest, ElementErrorsAreLabelledByElement) {
  absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch(kTwo, 1);
  ASSERT_TRUE(batch.ok());
  const uint32_t seq = batch->message(9)->nlmsg_seq;
  // The kernel's extended ACK points at the element's nest or inside it.
  EXPECT_EQ(batch->Describe(seq, 200), "adding element \"wg-b2\" : 0x02000000 to map marks");
  EXPECT_EQ(batch->Describe(seq), "adding 2 elements to map marks");
}

// --- validation ---

TEST(NftReturnMarksTest, InvalidMarksAreRefusedNamingTheElement) {
  struct Case {
    Marks marks;
    const char* want;
  };
  const Case cases[] = {
      {{{"", ReturnMark(1)}}, "element \"\" : 0x01000000 of map marks: interface name is 0 bytes"},
      {{{"abcdefghijklmnop", ReturnMark(1)}}, "interface name is 16 bytes, want 1 to 15"},
      {{{std::string("wg\0b", 4), ReturnMark(1)}}, "holds a NUL byte"},
      {{{"wg-b1", 0}}, "element \"wg-b1\" : 0x00000000 of map marks: mark must be nonzero"},
      {{{"wg-b1", ReturnMark(1) | 0x4000}}, "\"wg-b1\" : 0x01004000 of map marks: mark must be"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch(c.marks, 1);
    ASSERT_FALSE(batch.ok()) << c.want;
    EXPECT_TRUE(absl::IsInvalidArgument(batch.status()));
    EXPECT_THAT(batch.status().message(), HasSubstr(c.want));
  }
}

TEST(NftReturnMarksTest, MoreInterfacesThanMarksAreRefused) {
  Marks marks;
  for (uint32_t i = 0; i <= kMaxReturnMarks; ++i) marks[absl::StrCat("wg", i)] = ReturnMark(1);
  absl::Status s = ValidateReturnMarks(marks);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(s.message(), HasSubstr("255 interfaces, at most 254"));
}

TEST(NftReturnMarksTest, TheProbeMarkIsNoReturnMark) {
  absl::Status s = ValidateReturnMarks({{"wg-b1", kProbeMark}});
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(s.message(), HasSubstr("mark 0xff000000 is the data-path probe's"));
  EXPECT_TRUE(ValidateReturnMarks({{"wg-b1", ReturnMark(kMaxReturnMarks)}}).ok());
}

// --- parsing dumps ---

TEST(NftReturnMarksTest, ElementNotFerrysIsReturnedAsFound) {
  Marks marks;
  ASSERT_TRUE(ParseMarkElements(Header(ElementReply(Key("eth9"), Value(5))), &marks).ok());
  EXPECT_EQ(marks, (Marks{{"eth9", 5}}));
}

TEST(NftReturnMarksTest, ElementOfOtherSizesIsFailedPreconditionAndAddsNothing) {
  Marks marks = {{"wg-b1", ReturnMark(1)}};
  absl::Status s = ParseMarkElements(Header(ElementReply("eth0", Value(5))), &marks);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("4-byte key, want 16"));
  s = ParseMarkElements(Header(ElementReply(Key("eth0"), "\x01\x02")), &marks);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("element \"eth0\" of map marks has a 2-byte value"));
  EXPECT_EQ(marks, (Marks{{"wg-b1", ReturnMark(1)}}));
}

TEST(NftReturnMarksTest, DumpOfAnotherSetIsAnError) {
  Marks marks;
  absl::Status s = ParseMarkElements(Header(ElementReply(Key("a"), Value(1), "dnat4")), &marks);
  EXPECT_TRUE(absl::IsInternal(s)) << s;
  EXPECT_THAT(marks, IsEmpty());
}

TEST(NftReturnMarksTest, MessagesCutInsideTheElementsAreInternalErrors) {
  const std::vector<char> whole = ElementReply(Key("wg-b1"), Value(ReturnMark(1)));
  // Header, nfgenmsg, table and set name: what comes after is the list.
  const size_t list_start = NLMSG_HDRLEN + 4 + 20 + 12;
  for (size_t cut = sizeof(nlmsghdr); cut < whole.size(); cut += 4) {
    std::vector<char> bytes(whole.begin(), whole.begin() + cut);
    reinterpret_cast<nlmsghdr*>(bytes.data())->nlmsg_len = cut;
    Marks marks;
    absl::Status s = ParseMarkElements(Header(bytes), &marks);
    if (cut > list_start) EXPECT_TRUE(absl::IsInternal(s)) << cut << ": " << s;
    EXPECT_THAT(marks, IsEmpty()) << cut;
  }
}

// --- structure ---

TEST(NftReturnMarksTest, MissingChainIsDriftWithItsRule) {
  TableShape found = ExpectedMarkShape();
  std::erase_if(found.chains, [](const ChainShape& c) { return c.name == "mark_out"; });
  std::erase_if(found.rules, [](const RuleShape& r) { return r.chain == "mark_out"; });
  const std::vector<StructureDrift> drift = CompareShape(found, ExpectedMarkShape());
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0], (StructureDrift{"chain mark_out",
                                      "type route hook output priority -150 policy accept", ""}));
}

TEST(NftReturnMarksTest, RuleWithOtherExpressionsIsDrift) {
  TableShape found = ExpectedMarkShape();
  found.rules[0].expressions = "ct bitwise cmp meta lookup @marks ct";  // lost "ct mark 0"
  const std::vector<StructureDrift> drift = CompareShape(found, ExpectedMarkShape());
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, "rule ferry:mark_in in chain mark_in");
  EXPECT_THAT(drift[0].expected, HasSubstr("ct cmp meta"));
}

TEST(NftReturnMarksTest, ForeignRuleAndSetAreDrift) {
  TableShape found = ExpectedMarkShape();
  found.rules.push_back(RuleShape{"mark_in", 12, "", "meta cmp ct"});
  found.sets.push_back(SetShape{"extra", 0, 7, 4, 0, 0});
  const std::vector<StructureDrift> drift = CompareShape(found, ExpectedMarkShape());
  EXPECT_THAT(drift, ElementsAre(Field(&StructureDrift::object, "rule handle 12 in chain mark_in"),
                                 Field(&StructureDrift::object, "set extra")));
  EXPECT_TRUE(SetReadable(found, ExpectedMarkShape(), kMarksMapName));
}

TEST(NftReturnMarksTest, MapOfOtherTypesIsDriftAndUnreadable) {
  TableShape found = ExpectedMarkShape();
  found.sets[0].data_type = 7;
  const std::vector<StructureDrift> drift = CompareShape(found, ExpectedMarkShape());
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0], (StructureDrift{"map marks", "type ifname (16 bytes) : mark (4 bytes)",
                                      "type ifname (16 bytes) : ipv4_addr (4 bytes)"}));
  EXPECT_FALSE(SetReadable(found, ExpectedMarkShape(), kMarksMapName));
}

TEST(NftReturnMarksTest, ParsersKeepOnlyTheShapesTable) {
  absl::StatusOr<NetlinkBatch> batch = BuildMarkTableBatch(kTwo, 1);
  ASSERT_TRUE(batch.ok());
  TableShape ferry;  // table ferry, the default
  for (size_t i = 0; i < batch->message_count(); ++i) {
    const nlmsghdr* nlh = batch->message(i);
    if (!IsNft(nlh)) continue;
    const uint16_t type = nlh->nlmsg_type & 0xff;
    if (type == NFT_MSG_NEWCHAIN) EXPECT_TRUE(ParseChain(nlh, &ferry).ok());
    if (type == NFT_MSG_NEWRULE) EXPECT_TRUE(ParseRule(nlh, &ferry).ok());
    if (type == NFT_MSG_NEWSET) EXPECT_TRUE(ParseSet(nlh, &ferry).ok());
  }
  EXPECT_THAT(ferry.chains, IsEmpty());
  EXPECT_THAT(ferry.rules, IsEmpty());
  EXPECT_THAT(ferry.sets, IsEmpty());
  EXPECT_EQ(ExpectedShape().table, "ferry");
}

}  // namespace
}  // namespace ferry::agent::nft
