// A List is one snapshot at one resourceVersion: while a writer creates
// and deletes forwards and the fleet publishes their statuses
// (ForwardStatuses, served over the stored objects), every List over the
// RPC (with and without a label selector) holds each object once, and
// holds exactly the objects, at exactly their revisions and with exactly
// their statuses, that were current at the revision the List reports in
// its trailing metadata.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/server/resource_service.h"
#include "controller/store/object_codec.h"
#include "controller/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/resource_service_fixture.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::Object;
// name -> (revision, the tag of its published status; 0: none)
using State = std::map<std::string, std::pair<int64_t, int64_t>>;

constexpr int kNames = 120;
constexpr int kCommits = 300;
constexpr int kMaxListsPerReader = 400;

std::string NameOf(int i) { return absl::StrCat("f", 1000 + i); }

// Even names carry app=even, odd ones app=odd, whatever is written.
Object Labelled(int i) {
  Object o = TestForward(NameOf(i), "10.0.0.1", 1000 + i);
  (*o.mutable_ip_forward()->mutable_metadata()->mutable_labels())["app"] =
      i % 2 == 0 ? "even" : "odd";
  return o;
}

struct Listed {
  std::string selector;
  int64_t revision = 0;
  // (name, (revision, status tag)) in the order received
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> objects;
};

class ListSnapshotTest : public ResourceServiceFixture {
 protected:
  void SetUp() override { OpenAndServeWithStatuses("ferry-list"); }

  // A status whose observed generation tags it.
  static ForwardStatuses::Bytes Tagged(int64_t tag) {
    ferry::v1::IPForwardStatus status;
    status.set_observed_generation(tag);
    return std::make_shared<const std::string>(status.SerializeAsString());
  }

  Listed List(const std::string& selector) {
    Listed out;
    out.selector = selector;
    ferry::v1::ListRequest request;
    request.set_kind(ferry::v1::IP_FORWARD);
    request.set_label_selector(selector);
    grpc::ClientContext context;
    auto reader = stub_->List(&context, request);
    Object object;
    while (reader->Read(&object)) {
      int64_t revision = 0;
      EXPECT_TRUE(absl::SimpleAtoi(api::MetaOf(object).resource_version(), &revision));
      out.objects.push_back({api::ObjectName(object),
                             {revision, object.ip_forward().status().observed_generation()}});
    }
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    auto it = context.GetServerTrailingMetadata().find("resource-version");
    EXPECT_NE(it, context.GetServerTrailingMetadata().end());
    if (it != context.GetServerTrailingMetadata().end()) {
      EXPECT_TRUE(
          absl::SimpleAtoi(std::string(it->second.data(), it->second.size()), &out.revision));
    }
    return out;
  }
};

TEST_F(ListSnapshotTest, EveryListIsTheStoreAtItsRevisionWhileWritesRun) {
  // revision -> every stored forward and its revision, after each commit.
  std::map<int64_t, State> history;
  State state;
  std::vector<WriteOp> initial;
  for (int i = 0; i < kNames; i += 2) initial.push_back(PutOp(Labelled(i), WriteOp::kMustNotExist));
  absl::StatusOr<int64_t> first = store_->Commit(initial);
  ASSERT_TRUE(first.ok()) << first.status();
  for (int i = 0; i < kNames; i += 2) state[NameOf(i)] = {*first, 0};
  history[*first] = state;

  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::mt19937 random(13);
    for (int c = 0; c < kCommits; ++c) {
      // One delete, one create and a few published statuses per round, on
      // distinct names: the store's commit, then the publication.
      std::vector<WriteOp> ops;
      std::vector<ForwardStatuses::Update> published;
      std::map<int, char> picked;  // index -> 's'tatus, 'd'elete, 'c'reate
      for (int k = 0; k < 6; ++k) {
        int i = static_cast<int>(random() % kNames);
        if (picked.count(i)) continue;
        const bool stored = state.count(NameOf(i)) > 0;
        picked[i] = !stored ? 'c' : (k == 0 ? 'd' : 's');
      }
      for (const auto& [i, what] : picked) {
        const std::string name = NameOf(i);
        if (what == 'c') {
          ops.push_back(PutOp(Labelled(i), WriteOp::kMustNotExist));
        } else if (what == 'd') {
          WriteOp op;
          op.type = WriteOp::Type::kDelete;
          op.kind = kKindIPForward;
          op.name = name;
          op.expected_revision = state[name].first;
          ops.push_back(op);
          published.push_back({name, nullptr});
        } else {
          published.push_back({name, Tagged(c + 1)});
        }
      }
      absl::StatusOr<int64_t> revision = store_->Commit(ops);
      ASSERT_TRUE(revision.ok()) << revision.status();
      for (const auto& [i, what] : picked) {
        if (what == 'd') {
          state.erase(NameOf(i));
        } else if (what == 'c') {
          state[NameOf(i)] = {*revision, 0};
        }
      }
      history[*revision] = state;
      absl::StatusOr<int64_t> marker = statuses_->Publish(published);
      ASSERT_TRUE(marker.ok()) << marker.status();
      for (const auto& [i, what] : picked) {
        if (what == 's') state[NameOf(i)].second = c + 1;
      }
      history[*marker] = state;
    }
    done = true;
  });

  std::vector<Listed> lists[2];
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      const std::string selectors[] = {"", "app=even", "app=odd"};
      for (int n = 0; n < kMaxListsPerReader && !done; ++n) {
        lists[r].push_back(List(selectors[(n + r) % 3]));
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();

  int checked = 0;
  for (const auto& per_reader : lists) {
    for (const Listed& listed : per_reader) {
      auto at = history.find(listed.revision);
      ASSERT_NE(at, history.end())
          << "list at revision " << listed.revision << " is not a revision the writer committed";
      State want;
      for (const auto& [name, stored] : at->second) {
        int index = 0;
        ASSERT_TRUE(absl::SimpleAtoi(name.substr(1), &index));
        const bool even = (index - 1000) % 2 == 0;
        if (listed.selector == "app=even" && !even) continue;
        if (listed.selector == "app=odd" && even) continue;
        want[name] = stored;
      }
      State got;
      for (const auto& [name, stored] : listed.objects) {
        EXPECT_TRUE(got.emplace(name, stored).second)
            << name << " listed twice at revision " << listed.revision;
      }
      EXPECT_EQ(got, want) << "selector \"" << listed.selector << "\" at revision "
                           << listed.revision;
      EXPECT_EQ(listed.objects.size(), want.size());
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace ferry::controller
