// The JSON tree and the JSONPath subset behind -o json, -o jsonpath,
// -o custom-columns and --sort-by.

#include <string>

#include "controller/cli/json.h"
#include "controller/cli/jsonpath.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::cli {
namespace {

using ::testing::HasSubstr;

JsonValue Parse(const std::string& text) {
  absl::StatusOr<JsonValue> value = ParseJson(text);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : JsonValue();
}

std::string Expand(const std::string& tmpl, const std::string& json) {
  absl::StatusOr<JsonPathTemplate> t = JsonPathTemplate::Parse(tmpl);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->Execute(Parse(json)) : "";
}

std::string ParseError(const std::string& tmpl) {
  absl::StatusOr<JsonPathTemplate> t = JsonPathTemplate::Parse(tmpl);
  return t.ok() ? "OK" : std::string(t.status().message());
}

constexpr char kList[] = R"({"items": [
  {"metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "w"}},
   "status": {"conditions": [{"type": "Accepted", "status": "True"},
                             {"type": "Ready", "status": "False"}]}},
  {"metadata": {"name": "api", "generation": 3},
   "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]})";

TEST(CliJsonTest, RoundTripsKeepingMemberOrderAndEscapes) {
  const JsonValue v = Parse(R"({"b": 1, "a": ["x\n\"y\"", true, null, -2.5e3], "c": {}})");
  EXPECT_EQ(WriteJson(v, 0), R"({"b":1,"a":["x\n\"y\"",true,null,-2.5e3],"c":{}})");
  EXPECT_EQ(WriteJson(v),
            "{\n  \"b\": 1,\n  \"a\": [\n    \"x\\n\\\"y\\\"\",\n    true,\n"
            "    null,\n    -2.5e3\n  ],\n  \"c\": {}\n}");
  EXPECT_EQ(Parse(R"("\u00e9\ud83d\ude00")").text, "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(CliJsonTest, MalformedJsonIsAnErrorWithItsOffset) {
  absl::StatusOr<JsonValue> v = ParseJson(R"({"a": [1, 2})");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("JSON at offset 11"));
}

TEST(CliJsonTest, SixtyFourBitIntegersOfTheProtoBecomeNumbers) {
  ferry::v1::Object object;
  ferry::v1::IPForward* f = object.mutable_ip_forward();
  f->mutable_metadata()->set_name("web");
  f->mutable_metadata()->set_generation(12);
  f->mutable_metadata()->set_resource_version("34");  // a string field
  f->mutable_status()->set_observed_generation(12);
  f->mutable_status()->add_conditions()->set_observed_generation(11);
  f->mutable_status()->add_nodes()->set_applied_generation(10);
  f->mutable_spec()->add_ports()->set_port(80);  // uint32: already a number
  const std::string json = WriteJson(ObjectJson(object), 0);
  EXPECT_THAT(json, HasSubstr(R"("generation":12)"));
  EXPECT_THAT(json, HasSubstr(R"("resourceVersion":"34")"));
  EXPECT_THAT(json, HasSubstr(R"("observedGeneration":12)"));
  EXPECT_THAT(json, HasSubstr(R"("observedGeneration":11)"));
  EXPECT_THAT(json, HasSubstr(R"("appliedGeneration":10)"));
  EXPECT_THAT(json, HasSubstr(R"("port":80)"));
}

TEST(CliJsonPathTest, FieldsWildcardsAndIndexes) {
  EXPECT_EQ(Expand("{.items[*].metadata.name}", kList), "web api");
  EXPECT_EQ(Expand("{.items[0].metadata.name}", kList), "web");
  EXPECT_EQ(Expand("{.items[-1].metadata.name}", kList), "api");
  EXPECT_EQ(Expand("{$.items[1].metadata.generation}", kList), "3");
  EXPECT_EQ(Expand("{items[1].metadata.name}", kList), "api");
  EXPECT_EQ(Expand("{.items[5].metadata.name}", kList), "");
  EXPECT_EQ(Expand("{.items[0].metadata.labels['app.kubernetes.io/name']}", kList), "w");
  EXPECT_EQ(Expand("{.items[0].metadata.labels}", kList), R"({"app.kubernetes.io/name":"w"})");
  EXPECT_EQ(Expand("{.items[1].metadata.*}", kList), "api 3");
}

TEST(CliJsonPathTest, FiltersCompareAndTestExistence) {
  EXPECT_EQ(Expand(R"({.items[*].status.conditions[?(@.type=="Ready")].status})", kList),
            "False True");
  EXPECT_EQ(Expand(R"({.items[*].status.conditions[?(@.type != 'Ready')].type})", kList),
            "Accepted");
  EXPECT_EQ(Expand("{.items[?(@.metadata.generation)].metadata.name}", kList), "api");
  EXPECT_EQ(Expand("{.items[?(@.metadata.generation==3)].metadata.name}", kList), "api");
}

TEST(CliJsonPathTest, RangeAndLiterals) {
  EXPECT_EQ(Expand(R"(names:{range .items[*]} {.metadata.name}{"\n"}{end}done)", kList),
            "names: web\n api\ndone");
  EXPECT_EQ(
      Expand(
          R"({range .items[*]}{.metadata.name}{'\t'}{range .status.conditions[*]}{.type},{end}{"\n"}{end})",
          kList),
      "web\tAccepted,Ready,\napi\tReady,\n");
}

TEST(CliJsonPathTest, WhatIsNotSupportedIsNamed) {
  EXPECT_THAT(ParseError("{..name}"), HasSubstr("recursive descent (..) is not supported"));
  EXPECT_THAT(ParseError("{.items[0:1]}"), HasSubstr("slices ([a:b]) are not supported"));
  EXPECT_THAT(ParseError("{.items[0,1]}"), HasSubstr("unions ([a,b]) are not supported"));
  EXPECT_THAT(ParseError("{.items[?(@.a>1)]}"), HasSubstr("filters support only =="));
  EXPECT_THAT(ParseError("{.items[?(@.a==b)]}"), HasSubstr("want a quoted string or a number"));
  EXPECT_THAT(ParseError("{.items.length()}"), HasSubstr("functions and operators are not"));
  EXPECT_THAT(ParseError("{.items"), HasSubstr("without '}'"));
  EXPECT_THAT(ParseError("{end}"), HasSubstr("{end} without {range}"));
  EXPECT_THAT(ParseError("{range .items[*]}"), HasSubstr("{range} without {end}"));
  EXPECT_THAT(ParseError("{}"), HasSubstr("empty expression"));
  EXPECT_THAT(ParseError("{.items[x]}"), HasSubstr("want [*], [N]"));
}

}  // namespace
}  // namespace ferry::cli
