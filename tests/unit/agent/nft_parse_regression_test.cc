// Set element dumps libnftnl 1.2.4 could not survive (exit(), NULL
// dereference, stack corruption: tests/fuzz/findings/netlink/) and other
// malformed ones: each is an error or a skip, never a crash, and a failed
// message leaves the loaded state as it was.

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_walk.h"
#include "node-agent/kernel/nft_messages.h"

namespace ferry::agent::nft {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

// The fuzzer's reproducers, byte for byte.
constexpr const char* kAbiBreakageExitHex =
    "880000000c0a05040300000000000000010000000a00010066657272790000000a0002"
    "00646e6174360000005c00038058000180200001801c00010020010db8000000000000"
    "0000000000010600000001bb00001c000300000000000000010000000a000100666572"
    "72790000000a000200646e6174360000005c00038058000180200001801c0001002001"
    "0db80000000000000000000000010600000001bb00001c00028018000100fd00000800"
    "000000000000000000000220fb000015000600000f6970666f72776172642f77656236"
    "00028018000100fd00000800000000000000000000000220fb000015000600000f6970"
    "666f72776172642f77656236000000001400000003000200000000000000000000000000";
constexpr const char* kAttrTypeStackCorruptionHex =
    "880000000c0a05040300000000000000010000000a00010066657272790000000a0002"
    "00646e6174360000005c00038058000180200001801c00010020010db8000000000000"
    "000000000001080006006400000008000f00591b0000fd000001bb00001c0002801800"
    "0100fd00000800000000000000000000000220fb000015000600000f69000014000000"
    "00000a00020000000000000000000000";
constexpr const char* kExprNullNameHex =
    "880000000c0a05040300000000000000010000000a00010066657272390000000a0002"
    "00646e6174360000005c00038058000180200007801c0001ffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffffffffffffffffffffff0020010db8000000000000"
    "00000000000106000000000000000106000000"
    "01bb00001c000000000041000000000000000000000000000000028018000100fd0000"
    "0800000000000000000006006400000008000f41591b0000050015000000000220fb00"
    "001ef9ffffffffffff996f72776172642f776562360000000014000000030002000000"
    "0000000000000000002400000001bb00001c00028018000100fd000001bb00001c0002"
    "801800010000800a00fd00000800000000000000";

// The first message of a finding (each is a NEWSETELEM of 136 bytes).
std::vector<uint32_t> FirstMessage(const char* hex) {
  const std::string bytes = absl::HexStringToBytes(hex);
  std::vector<uint32_t> buf((bytes.size() + 3) / 4);  // aligned, padded
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  return buf;
}

absl::Status ParseFinding(const char* hex, NatState* state) {
  std::vector<uint32_t> buf = FirstMessage(hex);
  NetlinkMessageWalker walk(buf.data(), absl::HexStringToBytes(hex).size());
  const nlmsghdr* nlh = walk.Next();
  if (nlh == nullptr) return walk.status();
  return ParseSetElements(nlh, state);
}

TEST(NftParseRegressionTest, ElementAttributeOfWrongSizeIsAnErrorNotAnExit) {
  // A 24-byte NFTA_SET_ELEM_FLAGS (libnftnl exit()s on it), then an
  // attribute running past the end of its element.
  NatState state;
  const absl::Status s = ParseFinding(kAbiBreakageExitHex, &state);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("overruns its element"));
  EXPECT_TRUE(state.dnat.empty());
}

TEST(NftParseRegressionTest, ElementAttributeTypeAboveMaxIsNoStackCorruption) {
  NatState state;
  const absl::Status s = ParseFinding(kAttrTypeStackCorruptionHex, &state);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(state.dnat.empty());
}

TEST(NftParseRegressionTest, ExpressionWithoutNameIsNoNullDereference) {
  NatState state;
  const absl::Status s = ParseFinding(kExprNullNameHex, &state);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(state.dnat.empty());
}

// A NEWSETELEM for `set` whose element list `add_elements` fills.
class ElementMessage {
 public:
  ElementMessage(const char* set, const std::function<void(nlmsghdr*)>& add_elements) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(nfgenmsg)));
    nfg->nfgen_family = NFPROTO_INET;
    mnl_attr_put_strz(nlh_, NFTA_SET_ELEM_LIST_TABLE, "ferry");
    mnl_attr_put_strz(nlh_, NFTA_SET_ELEM_LIST_SET, set);
    nlattr* list = mnl_attr_nest_start(nlh_, NFTA_SET_ELEM_LIST_ELEMENTS);
    add_elements(nlh_);
    mnl_attr_nest_end(nlh_, list);
  }
  const nlmsghdr* get() const { return nlh_; }

 private:
  alignas(nlmsghdr) std::array<char, 4096> buf_{};
  nlmsghdr* nlh_;
};

// masq4 key 10.8.0.2 . tcp . 8080.
constexpr uint8_t kMasqKey[12] = {10, 8, 0, 2, 6, 0, 0, 0, 0x1f, 0x90, 0, 0};

void PutValue(nlmsghdr* nlh, uint16_t type, const void* data, size_t len) {
  nlattr* nest = mnl_attr_nest_start(nlh, type);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, len, data);
  mnl_attr_nest_end(nlh, nest);
}

// One element holding kMasqKey, plus whatever `extra` adds.
void MasqElement(nlmsghdr* nlh, const std::function<void(nlmsghdr*)>& extra) {
  nlattr* elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
  PutValue(nlh, NFTA_SET_ELEM_KEY, kMasqKey, sizeof(kMasqKey));
  extra(nlh);
  mnl_attr_nest_end(nlh, elem);
}

const MasqKey kParsedMasqKey{Ip("10.8.0.2"), kProtoTcp, 8080};

TEST(NftParseRegressionTest, UnknownElementAttributeTypesAreSkipped) {
  ElementMessage msg("masq4", [](nlmsghdr* nlh) {
    MasqElement(nlh, [](nlmsghdr* nlh) {
      mnl_attr_put_u32(nlh, 0x0f, 7);                 // above NFTA_SET_ELEM_MAX
      mnl_attr_put_u16(nlh, NFTA_SET_ELEM_FLAGS, 1);  // wrong size: unused
      nlattr* expr = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_EXPR);
      mnl_attr_nest_end(nlh, expr);  // an expression without a name
    });
  });
  NatState state;
  ASSERT_TRUE(ParseSetElements(msg.get(), &state).ok());
  ASSERT_EQ(state.masq.count(kParsedMasqKey), 1u);
  EXPECT_EQ(state.masq.at(kParsedMasqKey), "");
}

TEST(NftParseRegressionTest, KeyOfWrongSizeIsAnErrorNamingTheSet) {
  ElementMessage msg("masq4", [](nlmsghdr* nlh) {
    nlattr* elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    PutValue(nlh, NFTA_SET_ELEM_KEY, kMasqKey, 8);
    mnl_attr_nest_end(nlh, elem);
  });
  NatState state;
  const absl::Status s = ParseSetElements(msg.get(), &state);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("set masq4"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("8-byte key, want 12"));
}

TEST(NftParseRegressionTest, AttributeOverrunningItsElementIsAnError) {
  ElementMessage msg("masq4", [](nlmsghdr* nlh) {
    MasqElement(nlh, [](nlmsghdr* nlh) {
      // A userdata attribute claiming more bytes than its element holds.
      auto* bad = static_cast<nlattr*>(mnl_nlmsg_get_payload_tail(nlh));
      mnl_attr_put_u32(nlh, NFTA_SET_ELEM_USERDATA, 0);
      bad->nla_len = 200;
    });
  });
  NatState state;
  const absl::Status s = ParseSetElements(msg.get(), &state);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()), HasSubstr("overruns its element"));
}

TEST(NftParseRegressionTest, UserdataTlvOverrunningTheUserdataIsAnError) {
  ElementMessage msg("masq4", [](nlmsghdr* nlh) {
    MasqElement(nlh, [](nlmsghdr* nlh) {
      const uint8_t udata[] = {NFTNL_UDATA_SET_ELEM_COMMENT, 40, 'w', 'e', 'b'};
      mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, sizeof(udata), udata);
    });
  });
  NatState state;
  const absl::Status s = ParseSetElements(msg.get(), &state);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()), HasSubstr("userdata"));
}

TEST(NftParseRegressionTest, UnterminatedCommentIsReadUpToItsLength) {
  ElementMessage msg("masq4", [](nlmsghdr* nlh) {
    MasqElement(nlh, [](nlmsghdr* nlh) {
      const uint8_t udata[] = {NFTNL_UDATA_SET_ELEM_COMMENT, 3, 'w', 'e', 'b'};
      mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, sizeof(udata), udata);
    });
  });
  NatState state;
  ASSERT_TRUE(ParseSetElements(msg.get(), &state).ok());
  EXPECT_EQ(state.masq.at(kParsedMasqKey), "web");
}

TEST(NftParseRegressionTest, VerdictInsteadOfMapValueIsAnError) {
  ElementMessage msg("dnat4", [](nlmsghdr* nlh) {
    nlattr* elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    PutValue(nlh, NFTA_SET_ELEM_KEY, kMasqKey, sizeof(kMasqKey));
    nlattr* data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
    nlattr* verdict = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
    mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl(NF_ACCEPT));
    mnl_attr_nest_end(nlh, verdict);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, elem);
  });
  NatState state;
  const absl::Status s = ParseSetElements(msg.get(), &state);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()), HasSubstr("verdict"));
}

TEST(NftParseRegressionTest, AFailedMessageLeavesTheStateAsItWas) {
  ElementMessage msg("masq4", [](nlmsghdr* nlh) {
    MasqElement(nlh, [](nlmsghdr*) {});
    nlattr* elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    PutValue(nlh, NFTA_SET_ELEM_KEY, kMasqKey, 4);
    mnl_attr_nest_end(nlh, elem);
  });
  NatState state;
  state.masq[MasqKey{Ip("10.8.0.9"), kProtoUdp, 53}] = "kept";
  const NatState before = state;
  EXPECT_FALSE(ParseSetElements(msg.get(), &state).ok());
  EXPECT_EQ(state.masq, before.masq);
  EXPECT_EQ(state.dnat, before.dnat);
}

TEST(NftParseRegressionTest, MessageTooShortForItsFamilyHeaderIsAnError) {
  alignas(nlmsghdr) char buf[sizeof(nlmsghdr)] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
  NatState state;
  const absl::Status s = ParseSetElements(nlh, &state);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()), HasSubstr("too short"));
}

TEST(NftParseRegressionTest, UnknownSetIsAnErrorNamingIt) {
  ElementMessage msg("other", [](nlmsghdr* nlh) { MasqElement(nlh, [](nlmsghdr*) {}); });
  NatState state;
  const absl::Status s = ParseSetElements(msg.get(), &state);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unexpected set other"));
}

}  // namespace
}  // namespace ferry::agent::nft
