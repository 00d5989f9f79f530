#include "controller/dashboard/dashboard_json.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "api/lib/conditions.h"
#include "api/lib/forward_spec.h"
#include "api/lib/json_string.h"
#include "api/lib/timestamps.h"
#include "controller/cli/fields.h"
#include "controller/cli/table.h"
#include "controller/store/object_codec.h"
#include "controller/store/served_object.h"

namespace ferry::controller::dashboard {
namespace {

// Besides what JSON requires, <, > and & are escaped, so the text is inert
// in any HTML.
std::string HtmlSafeJson(absl::string_view text) {
  return api::JsonString(text, {.html_safe = true});
}

// Builds one JSON object: Field() calls in order, then Close().
class JsonObject {
 public:
  JsonObject& Raw(absl::string_view key, absl::string_view json) {
    absl::StrAppend(&out_, out_.size() > 1 ? "," : "", HtmlSafeJson(key), ":", json);
    return *this;
  }
  JsonObject& Str(absl::string_view key, absl::string_view text) {
    return Raw(key, HtmlSafeJson(text));
  }
  JsonObject& Int(absl::string_view key, int64_t value) { return Raw(key, absl::StrCat(value)); }
  JsonObject& Bool(absl::string_view key, bool value) { return Raw(key, value ? "true" : "false"); }
  std::string Close() { return out_ + "}"; }

 private:
  std::string out_ = "{";
};

std::string JsonArray(const std::vector<std::string>& items) {
  return absl::StrCat("[", absl::StrJoin(items, ","), "]");
}

std::string Items(const std::vector<std::string>& items, bool truncated) {
  return JsonObject().Raw("items", JsonArray(items)).Bool("truncated", truncated).Close();
}

std::string TimeText(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  return cli::FormatUtc(api::FromTimestamp(ts));
}

std::string ConditionsJson(const api::Conditions& conditions) {
  std::vector<std::string> items;
  for (const ferry::v1::Condition& c : conditions) {
    items.push_back(JsonObject()
                        .Str("type", c.type())
                        .Str("status", c.status())
                        .Str("reason", c.reason())
                        .Str("message", c.message())
                        .Close());
  }
  return JsonArray(items);
}

std::string ForwardJson(const ferry::v1::IPForward& f) {
  std::vector<std::string> nodes;
  for (const ferry::v1::NodeForwardStatus& n : f.status().nodes()) {
    nodes.push_back(JsonObject()
                        .Str("name", n.name())
                        .Str("role", n.role())
                        .Str("state", n.state())
                        .Str("message", n.message())
                        .Str("dataPath", n.data_path())
                        .Close());
  }
  const ferry::v1::IPForwardSpec& spec = f.spec();
  return JsonObject()
      .Str("name", f.metadata().name())
      .Str("frontend", cli::FormatFrontend(spec.frontend()))
      .Str("backend", cli::FormatEndpoint(spec.backend().node_name(), spec.backend().address()))
      .Str("ports", cli::FormatPorts(spec, ", "))
      .Str("sourceIP", api::SourceIPName(spec.source_ip()))
      .Str("driftPolicy", api::DriftPolicyName(spec.drift_policy()))
      .Int("generation", f.metadata().generation())
      .Raw("conditions", ConditionsJson(f.status().conditions()))
      .Raw("nodes", JsonArray(nodes))
      .Close();
}

std::string NodeJson(const ferry::v1::Node& n) {
  std::vector<std::string> addresses;
  for (const ferry::v1::NodeAddress& a : n.status().addresses()) {
    addresses.push_back(HtmlSafeJson(absl::StrCat(
        a.address(), "/", a.prefix_length(), a.interface().empty() ? "" : " ", a.interface())));
  }
  const api::Conditions& conditions = n.status().conditions();
  const ferry::v1::Condition* in_sync = api::FindCondition(conditions, api::kConditionInSync);
  return JsonObject()
      .Str("name", n.metadata().name())
      .Str("connected", api::ConditionStatus(conditions, api::kConditionConnected))
      .Str("inSync", api::ConditionStatus(conditions, api::kConditionInSync))
      .Str("inSyncReason", in_sync != nullptr ? in_sync->reason() : "")
      .Str("inSyncMessage", in_sync != nullptr ? in_sync->message() : "")
      .Str("agentVersion", n.status().agent_version())
      .Raw("addresses", JsonArray(addresses))
      .Str("labels", n.metadata().labels().empty() ? "" : cli::FormatLabels(n.metadata().labels()))
      .Str("lastSeen", TimeText(n.status().last_seen()))
      .Close();
}

std::string EventJson(const ferry::v1::Event& e) {
  return JsonObject()
      .Str("time", TimeText(e.last_timestamp()))
      .Str("type", e.type())
      .Str("reason", e.reason())
      .Str("object", absl::StrCat(e.involved_object().kind(), "/", e.involved_object().name()))
      .Str("node", e.node())
      .Str("message", e.message())
      .Int("count", e.count())
      .Close();
}

// Visits up to `limit` decoded objects of `kind`; `truncated` says whether
// there were more.
absl::Status ListDecoded(Store* store, const std::string& kind, size_t limit, bool* truncated,
                         const std::function<void(ferry::v1::Object&)>& visit) {
  absl::Status decoded = absl::OkStatus();
  size_t seen = 0;
  *truncated = false;
  absl::StatusOr<int64_t> listed = store->List(kind, [&](const StoredObject& stored) {
    if (seen == limit) {
      *truncated = true;
      return false;
    }
    absl::StatusOr<ferry::v1::Object> object = DecodeStored(stored);
    if (!object.ok()) {
      decoded = object.status();
      return false;
    }
    ++seen;
    visit(*object);
    return true;
  });
  return listed.ok() ? decoded : listed.status();
}

}  // namespace

absl::StatusOr<std::string> ForwardsJson(Store* store, const ForwardStatuses* statuses,
                                         const ViewLimits& limits) {
  std::vector<std::string> items;
  bool truncated = false;
  absl::Status listed = ListDecoded(
      store, kKindIPForward, limits.forwards, &truncated, [&](ferry::v1::Object& object) {
        if (statuses != nullptr) {
          // The store keeps no status: the fleet's is the one served.
          ReplaceStatus(statuses->Get(object.ip_forward().metadata().name()).get(), &object);
        }
        items.push_back(ForwardJson(object.ip_forward()));
      });
  if (!listed.ok()) return listed;
  return Items(items, truncated);
}

absl::StatusOr<std::string> NodesJson(Store* store, const ViewLimits& limits) {
  std::vector<std::string> items;
  bool truncated = false;
  absl::Status listed =
      ListDecoded(store, kKindNode, limits.nodes, &truncated,
                  [&](ferry::v1::Object& object) { items.push_back(NodeJson(object.node())); });
  if (!listed.ok()) return listed;
  return Items(items, truncated);
}

absl::StatusOr<std::string> EventsJson(Store* store, const ViewLimits& limits) {
  // Newest first; the recorder keeps a bounded number (1000 by default).
  std::multimap<std::pair<int64_t, int32_t>, std::string, std::greater<>> newest;
  bool truncated = false;
  absl::Status listed =
      ListDecoded(store, kKindEvent, SIZE_MAX, &truncated, [&](ferry::v1::Object& object) {
        const ferry::v1::Event& e = object.event();
        newest.emplace(std::make_pair(e.last_timestamp().seconds(), e.last_timestamp().nanos()),
                       EventJson(e));
        if (newest.size() > limits.events) newest.erase(std::prev(newest.end()));
      });
  if (!listed.ok()) return listed;
  std::vector<std::string> items;
  for (auto& [time, json] : newest) items.push_back(std::move(json));
  return JsonObject().Raw("items", JsonArray(items)).Close();
}

absl::StatusOr<std::string> SnapshotJson(Store* store, const ForwardStatuses* statuses,
                                         const ViewLimits& limits) {
  // Read first: the lists are at this revision or a later one, so a client
  // that saw this revision misses no change.
  const int64_t revision = store->CurrentRevision();
  absl::StatusOr<std::string> forwards = ForwardsJson(store, statuses, limits);
  if (!forwards.ok()) return forwards.status();
  absl::StatusOr<std::string> nodes = NodesJson(store, limits);
  if (!nodes.ok()) return nodes.status();
  absl::StatusOr<std::string> events = EventsJson(store, limits);
  if (!events.ok()) return events.status();
  return JsonObject()
      .Int("revision", revision)
      .Raw("forwards", *forwards)
      .Raw("nodes", *nodes)
      .Raw("events", *events)
      .Close();
}

}  // namespace ferry::controller::dashboard
