// Spec: log lines in logfmt and JSON carry the same time, level, message
// and fields.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/lib/log.h"

namespace ferry {
namespace {

const absl::Time kTime = absl::FromUnixMillis(1764979200123);  // 2025-12-06T00:00:00.123Z

TEST(LogFormatTest, LogfmtQuotesValuesWithSpaces) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTime, LogLevel::kInfo, "pushed config",
                          {{"node", "node-a"}, {"error", "a b"}}),
            "ts=2025-12-06T00:00:00.123Z level=info msg=\"pushed config\" node=node-a "
            "error=\"a b\"\n");
}

TEST(LogFormatTest, JsonIsOneObjectWithTsLevelMsgAndFields) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kTime, LogLevel::kWarning, "pushed config",
                          {{"node", "node-a"}, {"count", "3"}}),
            "{\"ts\":\"2025-12-06T00:00:00.123Z\",\"level\":\"warning\",\"msg\":\"pushed "
            "config\",\"node\":\"node-a\",\"count\":\"3\"}\n");
}

TEST(LogFormatTest, JsonEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kTime, LogLevel::kError, "say \"hi\"\n",
                          {{"path", "C:\\x\t\x01"}}),
            "{\"ts\":\"2025-12-06T00:00:00.123Z\",\"level\":\"error\",\"msg\":\"say "
            "\\\"hi\\\"\\n\",\"path\":\"C:\\\\x\\t\\u0001\"}\n");
}

TEST(LogFormatTest, ParseAcceptsTheTwoFormatsAndNamesTheFlagOtherwise) {
  EXPECT_EQ(*ParseLogFormat("json", "--log-format"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("logfmt", "--log-format"), LogFormat::kLogfmt);
  EXPECT_EQ(ParseLogFormat("xml", "--log-format").status().message(),
            "--log-format: must be logfmt or json, got \"xml\"");
}

}  // namespace
}  // namespace ferry
