// Spec: a daemon's --config FILE: flags named by their dashed names, the
// command line overriding the file, and errors naming file, line and key.

#include "api/lib/config_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace ferry::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<ConfigFlag> kFlags = {
    {"metrics-listen", false}, {"alert-webhook", true}, {"labels", false}, {"v", false}};

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ferry-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string Write(const std::string& text) {
    std::string path = dir_ + "/ferry.yaml";
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigFileTest, KeysBecomeFlagsAndListsRepeatTheFlag) {
  std::string path = Write(
      "# comment\n"
      "metrics-listen: 127.0.0.1:9100\n"
      "alert-webhook:\n"
      "  - https://a.example/hook\n"
      "  - https://b.example/hook\n"
      "labels: {zone: eu, role: edge}\n");
  absl::StatusOr<std::vector<std::string>> args = ReadConfigFile(path, kFlags);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(
      *args,
      ElementsAre("--metrics-listen=127.0.0.1:9100", "--alert-webhook=https://a.example/hook",
                  "--alert-webhook=https://b.example/hook", "--labels=zone=eu,role=edge"));
}

TEST_F(ConfigFileTest, CommandLineOverridesTheFileAndReplacesItsLists) {
  std::string path = Write(
      "metrics-listen: 127.0.0.1:9100\n"
      "v: debug\n"
      "alert-webhook: [https://a.example/hook, https://b.example/hook]\n");
  absl::StatusOr<std::vector<std::string>> args = ExpandConfigFile(
      {"--config", path, "--metrics-listen", ":9200", "--alert_webhook=https://c.example/hook"},
      kFlags);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(*args, ElementsAre("--v=debug", "--metrics-listen", ":9200",
                                 "--alert_webhook=https://c.example/hook"));
}

TEST_F(ConfigFileTest, WithoutConfigTheArgumentsAreUnchanged) {
  absl::StatusOr<std::vector<std::string>> args = ExpandConfigFile({"--v", "debug"}, kFlags);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(*args, ElementsAre("--v", "debug"));
}

TEST_F(ConfigFileTest, UnknownKeyNamesFileLineAndKey) {
  std::string path = Write("v: debug\nmetrics-lisen: :9100\n");
  absl::StatusOr<std::vector<std::string>> args = ExpandConfigFile({"--config=" + path}, kFlags);
  ASSERT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(), HasSubstr(path + ":2: unknown key \"metrics-lisen\""));
}

TEST_F(ConfigFileTest, ListForASingleValuedFlagIsAnError) {
  std::string path = Write("v: [info, debug]\n");
  EXPECT_THAT(ReadConfigFile(path, kFlags).status().message(),
              HasSubstr(path + ":1: \"v\" takes one value, not a list"));
}

TEST_F(ConfigFileTest, ConfigInsideTheFileIsRejected) {
  std::string path = Write("config: /etc/other.yaml\n");
  EXPECT_THAT(ReadConfigFile(path, {{"config", false}}).status().message(),
              HasSubstr(":1: unknown key \"config\""));
}

TEST_F(ConfigFileTest, NotAMappingOrBrokenYamlIsAnErrorNamingTheFile) {
  EXPECT_THAT(ReadConfigFile(Write("- a\n- b\n"), kFlags).status().message(),
              HasSubstr(dir_ + "/ferry.yaml:1: expected a mapping"));
  EXPECT_THAT(ReadConfigFile(Write("v: [unclosed\n"), kFlags).status().message(),
              HasSubstr(dir_ + "/ferry.yaml:"));
  EXPECT_THAT(ExpandConfigFile({"--config", dir_ + "/missing.yaml"}, kFlags).status().message(),
              HasSubstr("--config: cannot read " + dir_ + "/missing.yaml"));
  EXPECT_THAT(ExpandConfigFile({"--config"}, kFlags).status().message(),
              HasSubstr("--config: needs a file name"));
}

TEST_F(ConfigFileTest, EmptyFileSetsNothing) {
  absl::StatusOr<std::vector<std::string>> args = ReadConfigFile(Write("# nothing\n"), kFlags);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_TRUE(args->empty());
}

}  // namespace
}  // namespace ferry::api
