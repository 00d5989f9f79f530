// Spec: YamlReader reads a stream exactly as ParseYamlStream (yaml-cpp
// alone) does: the same documents, nodes, values, lines, columns and
// errors, whether a document takes the block parser's fast path or goes to
// yaml-cpp; and the usual manifest does take the fast path.

#include "api/lib/yaml_block_parser.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/lib/yaml_reader.h"
#include "api/lib/yaml_tree.h"
#include "gtest/gtest.h"
#include "tests/fuzz/yaml_differential.h"

namespace ferry::api {
namespace {

using testing::DiffReaderAndYamlCpp;
using yaml_internal::BlockDocument;
using yaml_internal::BlockResult;
using yaml_internal::ParseBlockDocument;

constexpr char kForward[] =
    "apiVersion: ferry.dev/v1\n"
    "kind: IPForward\n"
    "metadata:\n"
    "  name: fwd-000001\n"
    "  labels:\n"
    "    app: bulk\n"
    "    example.com/tier: \"web\"\n"
    "spec:\n"
    "  frontend:\n"
    "    nodeName: node-a\n"
    "    address: 10.64.0.1\n"
    "  backend:\n"
    "    address: 'fd00::1'\n"
    "  ports:\n"
    "  - protocol: TCP\n"
    "    port: 1025\n"
    "    targetPort: 8080\n"
    "  - port: 53   # dns\n"
    "    protocol: UDP\n"
    "  sourceIP: Masquerade\n";

BlockResult ParseFirst(absl::string_view yaml) {
  YamlNodeArena arena;
  BlockDocument doc;
  return ParseBlockDocument(yaml, 0, 1, YamlLimits{}, 0, arena, &doc);
}

TEST(YamlBlockParserTest, TakesTheUsualManifestStyle) {
  EXPECT_EQ(ParseFirst(kForward), BlockResult::kDocument);
  EXPECT_EQ(ParseFirst(absl::StrCat("# a comment\n---\n", kForward)), BlockResult::kDocument);
  EXPECT_EQ(ParseFirst("a:\n  b:\n    - x\n    - 'y'\nc: null\nd:\ne: 2026-01-01T00:00:00Z\n"),
            BlockResult::kDocument);
  EXPECT_EQ(ParseFirst("# nothing\n\n"), BlockResult::kEnd);
  EXPECT_EQ(ParseFirst(""), BlockResult::kEnd);
}

TEST(YamlBlockParserTest, DeclinesWhatItDoesNotReadExactly) {
  for (const char* yaml : {"a: [1, 2]\n",      "a: {b: 1}\n",
                           "a: &x 1\nb: *x\n", "a: !!str 1\n",
                           "a: |\n  text\n",   "a: >\n  text\n",
                           "a: \"x\\ty\"\n",   "a: 'it''s'\n",
                           "a: b\n  c\n",      "a:\tb\n",
                           "a: b\r\n",         "a: \xc3\xa9\n",
                           "a: 1\na: 2\n",     "? a\n: b\n",
                           "\"a\": 1\n",       "- a\n",
                           "  a: 1\n",         "a: b: c\n",
                           "a: ~\n",           "a:\n-\n",
                           "a:\n- - x\n",      "%YAML 1.2\n---\na: 1\n",
                           "a: 1\n...\n",      "a: x#y\n",
                           "a: 'x'#y\n",       "a: -1\n",
                           "a: 1\n b: 2\n",    "a: 'x\n  y'\n",
                           "a: hello world\n", "---\n# no newline at the end",
                           "NULL: 1\n",        "a:\n  null: 1\n"}) {
    EXPECT_EQ(ParseFirst(yaml), BlockResult::kDecline) << yaml;
  }
}

// Inputs for the differential check: every construct of the fast path,
// every kind of decline, errors, and mixes of both in one stream.
const char* const kStreams[] = {
    "",
    "\n",
    "# only\n",
    "---\n",
    "---\n---\n",
    "--- \n---\n# only\n",
    "a: 1\n---\n",
    "a: 1\n---\n\n",
    "---\na: 1\n",
    "# c\n\n---\na: 1\nb:\n  - x: \"y\"\n    z: null\n",
    "a:\n- 1\n- 2\nb: 3\n",
    "a:\n  - 1\n  - 2\nb:\n  c:\n    d: e\n",
    "a:\n- b: 1\n  c:\n  - x\n  - y\n  d: 2\n- e: 3\n",
    "k: v # c\n#c\n  # c\nk2: 'v 2'  # c\n",
    "a: null\nb: Null\nc: NULL\nd: nulls\n",
    "a:\n  # c\n  b: 1\n",
    "a: 1\n---\na: [1]\n---\nb: 2\n",
    "a: [1]\n---\nb: 2\n---\nc: {d: 3}\n---\ne: 4\n",
    "a: 1\n---\n, b\n",
    ",x\n",
    "a: 1\n...\nb: 2\n",
    "a: 1\n--- # c\nb: 2\n",
    "a: 1\n---\nb: 2\nb: 3\n",
    "a: 1\n---\n\tb: 2\n",
    "a: 1\n----\n",
    "a: 1\n---x\n",
    "a: 1\n  ---\n",
    "a:\n  b: 1\n c: 2\n",
    "a:\n    b: 1\n  c: 2\n",
    "a: 1\n---\nb: \"unterminated\n",
    "x: 1\n---\n- a\n- b\n",
    "x: 1\n---\nscalar\n",
    "a: b:c\nd: e:f:g\nh: i:\n",
    "a: '#x'\nb: \"a: b\"\n",
    "a: ''\nb: \"\"\n",
    "a:b: c\n",
    "a: 1\n--- \n  b: 1\n",
    "a:\n  -  x\n  -   y: 1\n      z: 2\n",
    "a: 1\n---\n---\nb: 2\n---\n",
    "a: 1\r\n---\nb: 2\n",
    "a: x\n---\nb: y",
    "a: x",
    "a:",
    "a:\n",
    "a:\nb:\n",
    "a:\n  b:\n",
    "a:\n- b:\n- c\n",
    "a: 'x''y'\n---\nb: 1\n",
};

TEST(YamlReaderTest, ReadsEveryStreamAsYamlCppDoes) {
  for (const char* yaml : kStreams) {
    EXPECT_EQ(DiffReaderAndYamlCpp(yaml), "") << "input:\n" << yaml;
  }
}

TEST(YamlReaderTest, AgreesOnLimits) {
  YamlLimits limits;
  limits.max_documents = 2;
  limits.max_depth = 3;
  limits.max_document_bytes = 40;
  limits.max_expanded_nodes = 12;
  for (const std::string& yaml : std::vector<std::string>{
           "a: 1\n---\nb: 2\n---\nc: 3\n", "a:\n  b:\n    c:\n      d: 1\n", "a:\n  b:\n    c: 1\n",
           absl::StrCat("a: ", std::string(50, 'x'), "\n"),
           "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\n", "a: [1]\n---\nb: 2\n---\nc: 3\n"}) {
    EXPECT_EQ(DiffReaderAndYamlCpp(yaml, limits), "") << "input:\n" << yaml;
  }
}

// A deterministic mutation run over manifests: each mutant is read both
// ways. tests/fuzz/yaml_fuzzer.cc runs the same check unbounded.
TEST(YamlReaderTest, AgreesWithYamlCppOnMutatedManifests) {
  const std::string seed = absl::StrCat(kForward, "---\n", kForward, "---\n# end\n");
  const std::string alphabet = " \n-:#'\"[]{},&*!|>?%@`\t\r.0aZ~\\";
  std::mt19937 rng(13);
  for (int i = 0; i < 4000; ++i) {
    std::string yaml = seed;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (yaml.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          yaml.insert(yaml.begin() + at, c);
          break;
        case 1:
          if (at < yaml.size()) yaml.erase(at, 1);
          break;
        default:
          if (at < yaml.size()) yaml[at] = c;
      }
    }
    const std::string diff = DiffReaderAndYamlCpp(yaml);
    ASSERT_EQ(diff, "") << "input:\n" << yaml;
  }
}

}  // namespace
}  // namespace ferry::api
