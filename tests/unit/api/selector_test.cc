#include "api/lib/selector.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::api {
namespace {

using ::testing::HasSubstr;
using Labels = google::protobuf::Map<std::string, std::string>;
using Op = LabelRequirement::Op;

Labels Web() {
  Labels l;
  l["team"] = "web";
  l["tier"] = "front";
  return l;
}

bool Select(absl::string_view selector, const Labels& labels) {
  absl::StatusOr<LabelSelector> s = ParseLabelSelector(selector);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() && Matches(*s, labels);
}

std::string ParseError(absl::string_view selector) {
  absl::StatusOr<LabelSelector> s = ParseLabelSelector(selector);
  if (s.ok()) return "OK";
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.status().message());
}

TEST(LabelSelectorTest, EmptySelectorMatchesEverything) {
  EXPECT_TRUE(Select("", Web()));
  EXPECT_TRUE(Select("  ", Labels()));
}

TEST(LabelSelectorTest, ParsesEveryOperator) {
  absl::StatusOr<LabelSelector> s = ParseLabelSelector("a=1, b==2,c!=3, d ,!e");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->requirements,
              ::testing::ElementsAre(LabelRequirement{"a", Op::kEquals, "1", {}},
                                     LabelRequirement{"b", Op::kEquals, "2", {}},
                                     LabelRequirement{"c", Op::kNotEquals, "3", {}},
                                     LabelRequirement{"d", Op::kExists, "", {}},
                                     LabelRequirement{"e", Op::kNotExists, "", {}}));
}

TEST(LabelSelectorTest, EqualityRequiresEveryTerm) {
  EXPECT_TRUE(Select("team=web", Web()));
  EXPECT_TRUE(Select("team=web,tier=front", Web()));
  EXPECT_FALSE(Select("team=web,tier=back", Web()));
  EXPECT_FALSE(Select("zone=a", Web()));
}

TEST(LabelSelectorTest, InequalityAlsoMatchesAbsentKeys) {
  EXPECT_TRUE(Select("team!=db", Web()));
  EXPECT_TRUE(Select("zone!=a", Web()));
  EXPECT_FALSE(Select("team!=web", Web()));
}

TEST(LabelSelectorTest, ExistenceTerms) {
  EXPECT_TRUE(Select("team", Web()));
  EXPECT_FALSE(Select("zone", Web()));
  EXPECT_TRUE(Select("!zone", Web()));
  EXPECT_FALSE(Select("!team", Web()));
}

TEST(LabelSelectorTest, EqualsEmptyValueMatchesOnlyEmptyLabel) {
  Labels l = Web();
  l["canary"] = "";
  EXPECT_TRUE(Select("canary=", l));
  EXPECT_FALSE(Select("team=", l));
}

TEST(LabelSelectorTest, ParsesSetTermsWithCommasInsideTheirParentheses) {
  absl::StatusOr<LabelSelector> s = ParseLabelSelector("team in (web, db),tier notin(back), x");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->requirements,
              ::testing::ElementsAre(LabelRequirement{"team", Op::kIn, "", {"web", "db"}},
                                     LabelRequirement{"tier", Op::kNotIn, "", {"back"}},
                                     LabelRequirement{"x", Op::kExists, "", {}}));
}

TEST(LabelSelectorTest, InNeedsTheKeyWithOneOfTheValues) {
  EXPECT_TRUE(Select("team in (web)", Web()));
  EXPECT_TRUE(Select("team in (db,web)", Web()));
  EXPECT_FALSE(Select("team in (db)", Web()));
  EXPECT_FALSE(Select("zone in (a,b)", Web()));
  EXPECT_TRUE(Select("team in (web),tier=front", Web()));
}

TEST(LabelSelectorTest, NotInAlsoMatchesAbsentKeys) {
  EXPECT_TRUE(Select("team notin (db)", Web()));
  EXPECT_TRUE(Select("zone notin (a)", Web()));
  EXPECT_FALSE(Select("team notin (db, web)", Web()));
}

TEST(LabelSelectorTest, ErrorsNameTheBadTerm) {
  EXPECT_THAT(ParseError("team in ()"),
              HasSubstr("term 1 \"team in ()\": 'in' needs at least one value"));
  EXPECT_THAT(ParseError("team in (web"), HasSubstr("'(' without ')'"));
  EXPECT_THAT(ParseError("team in web)"), HasSubstr("')' without '('"));
  EXPECT_THAT(ParseError("team within (web)"), HasSubstr("k in (v1,v2) or k notin (v1,v2)"));
  EXPECT_THAT(ParseError("team in (web,-x)"), HasSubstr("label value \"-x\" is invalid"));
  EXPECT_THAT(ParseError("team in (a) x"), HasSubstr("missing ')' after the values"));
  EXPECT_THAT(ParseError("a=b,,c"), HasSubstr("label selector term 2 \"\": empty term"));
  EXPECT_THAT(ParseError("team=web,Bad Key=x"),
              HasSubstr("label selector term 2 \"Bad Key=x\": label key \"Bad "
                        "Key\" is invalid"));
  EXPECT_THAT(ParseError("team=-web"), HasSubstr("label selector term 1 \"team=-web\": label value "
                                                 "\"-web\" is invalid"));
  EXPECT_THAT(ParseError("=web"), HasSubstr("term 1 \"=web\": missing label key"));
  EXPECT_THAT(ParseError("a=b=c"), HasSubstr("term 1 \"a=b=c\": more than one operator"));
}

TEST(FromNodeSelectorTest, MatchLabelsAndEveryOperator) {
  v1::NodeSelector selector;
  {
    auto* label = selector.add_match_labels();
    label->set_key("tier");
    label->set_value("edge");
  }
  auto add = [&](const char* key, const char* op, std::vector<std::string> values) {
    v1::LabelSelectorRequirement* t = selector.add_match_expressions();
    t->set_key(key);
    t->set_operator_(op);
    for (const std::string& v : values) t->add_values(v);
  };
  add("region", "In", {"eu", "us"});
  add("zone", "NotIn", {"fra2"});
  add("public", "Exists", {});
  add("draining", "DoesNotExist", {});
  const LabelSelector s = FromNodeSelector(selector);
  google::protobuf::Map<std::string, std::string> labels;
  labels["tier"] = "edge";
  labels["region"] = "eu";
  labels["zone"] = "fra1";
  labels["public"] = "";
  EXPECT_TRUE(Matches(s, labels));
  labels["zone"] = "fra2";
  EXPECT_FALSE(Matches(s, labels));
  labels.erase("zone");  // NotIn holds for an absent key
  EXPECT_TRUE(Matches(s, labels));
  labels["draining"] = "yes";
  EXPECT_FALSE(Matches(s, labels));
  labels.erase("draining");
  labels["region"] = "ap";
  EXPECT_FALSE(Matches(s, labels));
  labels["region"] = "us";
  labels.erase("public");
  EXPECT_FALSE(Matches(s, labels));
}

}  // namespace
}  // namespace ferry::api
