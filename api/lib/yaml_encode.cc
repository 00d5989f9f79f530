// EncodeYaml / EncodeJson (declared in manifest.h): objects back to text.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "api/lib/forward_spec.h"
#include "api/lib/manifest.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "yaml-cpp/emitter.h"
#include "yaml-cpp/emittermanip.h"

namespace ferry::api {
namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

bool AllOf(absl::string_view s, absl::string_view chars) {
  return !s.empty() && s.find_first_not_of(chars) == absl::string_view::npos;
}

// Plain text another YAML reader (YAML 1.1 included) would take for a
// number, boolean, null or timestamp; such strings are quoted so they stay
// strings everywhere.
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  std::string lower = absl::AsciiStrToLower(s);
  for (absl::string_view word : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
                                 ".nan", ".inf", "-.inf", "+.inf"}) {
    if (lower == word) return true;
  }
  double d;
  if (absl::SimpleAtod(s, &d)) return true;
  absl::string_view v = s;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) v.remove_prefix(1);
  // 0x1f, 0o17, 0b101
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'o' || v[1] == 'b') &&
      AllOf(v.substr(2), "0123456789abcdefABCDEF_")) {
    return true;
  }
  // Sexagesimal 1:30 (YAML 1.1), but not IPv6 addresses such as 2001:db8::1.
  if (AllOf(v, "0123456789:._") && absl::ascii_isdigit(v[0]) && v.find("::") == v.npos &&
      v.find(':') != v.npos) {
    return true;
  }
  // Dates and timestamps: 2026-11-25, 2026-11-25T12:00:00Z.
  return v.size() >= 8 && AllOf(v.substr(0, 4), "0123456789") && v[4] == '-';
}

class Writer {
 public:
  Writer() { out_ << YAML::BeginMap; }
  std::string Finish() {
    out_ << YAML::EndMap;
    return std::string(out_.c_str()) + "\n";
  }

  void Str(const char* key, const std::string& value) {
    if (value.empty()) return;
    out_ << YAML::Key << key << YAML::Value;
    Text(value);
  }
  void Int(const char* key, int64_t value) {
    if (value != 0) out_ << YAML::Key << key << YAML::Value << value;
  }
  void Time(const char* key, const Timestamp& t) {
    if (t.seconds() != 0 || t.nanos() != 0) Str(key, TimeUtil::ToString(t));
  }
  void KeyText(const std::string& key, const std::string& value) {
    out_ << YAML::Key;
    Text(key);
    out_ << YAML::Value;
    Text(value);
  }
  void Text(const std::string& value) {
    if (NeedsQuotes(value)) out_ << YAML::DoubleQuoted;
    out_ << value;
  }
  // Opens a nested map or list under `key`; close with End().
  void Map(const char* key) { out_ << YAML::Key << key << YAML::Value << YAML::BeginMap; }
  void List(const char* key) { out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq; }
  void Item() { out_ << YAML::BeginMap; }
  void EndMap() { out_ << YAML::EndMap; }
  void EndList() { out_ << YAML::EndSeq; }
  // A list of strings under `key`, in flow style; nothing when empty.
  void Strings(const char* key, const google::protobuf::RepeatedPtrField<std::string>& values) {
    if (values.empty()) return;
    out_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& v : values) Text(v);
    out_ << YAML::EndSeq;
  }
  void EmptyMap(const char* key) {
    out_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  }

 private:
  YAML::Emitter out_;
};

// A label map under `key`, sorted; nothing when empty.
void WriteLabels(Writer& w, const char* key,
                 const google::protobuf::Map<std::string, std::string>& map) {
  if (map.empty()) return;
  std::vector<std::pair<std::string, std::string>> labels(map.begin(), map.end());
  std::sort(labels.begin(), labels.end());
  w.Map(key);
  for (const auto& [k, v] : labels) {
    w.KeyText(k, v);  // empty values are legal labels, so always written
  }
  w.EndMap();
}

void WriteMeta(Writer& w, const std::string& api_version, const std::string& kind,
               const v1::ObjectMeta& m) {
  w.Str("apiVersion", api_version);
  w.Str("kind", kind);
  w.Map("metadata");
  w.Str("name", m.name());
  WriteLabels(w, "labels", m.labels());
  w.Str("uid", m.uid());
  w.Int("generation", m.generation());
  w.Str("resourceVersion", m.resource_version());
  w.Time("creationTimestamp", m.creation_timestamp());
  w.EndMap();
}

void WriteConditions(Writer& w, const google::protobuf::RepeatedPtrField<v1::Condition>& cs) {
  if (cs.empty()) return;
  w.List("conditions");
  for (const auto& c : cs) {
    w.Item();
    w.Str("type", c.type());
    w.Str("status", c.status());
    w.Str("reason", c.reason());
    w.Str("message", c.message());
    w.Int("observedGeneration", c.observed_generation());
    w.Time("lastTransitionTime", c.last_transition_time());
    w.EndMap();
  }
  w.EndList();
}

std::string EncodeForward(const v1::IPForward& f) {
  Writer w;
  WriteMeta(w, f.api_version(), f.kind(), f.metadata());
  const auto& spec = f.spec();
  w.Map("spec");
  w.Map("frontend");
  w.Str("nodeName", spec.frontend().node_name());
  if (spec.frontend().has_node_selector()) {
    const v1::NodeSelector& selector = spec.frontend().node_selector();
    w.Map("nodeSelector");
    if (!selector.match_labels().empty()) {
      w.Map("matchLabels");
      for (const v1::LabelPair& label : selector.match_labels()) {
        w.KeyText(label.key(), label.value());
      }
      w.EndMap();
    }
    if (!selector.match_expressions().empty()) {
      w.List("matchExpressions");
      for (const v1::LabelSelectorRequirement& term : selector.match_expressions()) {
        w.Item();
        w.Str("key", term.key());
        w.Str("operator", term.operator_());
        w.Strings("values", term.values());
        w.EndMap();
      }
      w.EndList();
    }
    w.EndMap();
  }
  w.Str("address", spec.frontend().address());
  w.Str("interface", spec.frontend().interface());
  w.EndMap();
  w.Map("backend");
  w.Str("nodeName", spec.backend().node_name());
  w.Str("address", spec.backend().address());
  w.Str("returnVia", spec.backend().return_via());
  w.EndMap();
  if (!spec.ports().empty()) {
    w.List("ports");
    for (const auto& p : spec.ports()) {
      w.Item();
      if (p.protocol() != v1::PROTOCOL_UNSPECIFIED)
        w.Str("protocol", v1::Protocol_Name(p.protocol()));
      w.Int("port", p.port());
      w.Int("endPort", p.end_port());
      w.Int("targetPort", p.target_port());
      w.EndMap();
    }
    w.EndList();
  }
  if (spec.source_ip() == v1::PRESERVE) w.Str("sourceIP", "Preserve");
  if (spec.source_ip() == v1::MASQUERADE) w.Str("sourceIP", "Masquerade");
  if (spec.drift_policy() == v1::ENFORCE) w.Str("driftPolicy", "Enforce");
  if (spec.drift_policy() == v1::ALERT) w.Str("driftPolicy", "Alert");
  if (spec.has_rollout()) {
    w.Map("rollout");
    w.Str("maxUnavailable", spec.rollout().max_unavailable());
    w.Int("progressDeadlineSeconds", spec.rollout().progress_deadline_seconds());
    w.EndMap();
  }
  if (spec.has_probe()) {
    w.Map("probe");
    w.Int("periodSeconds", spec.probe().period_seconds());
    w.Int("timeoutSeconds", spec.probe().timeout_seconds());
    w.Int("confirmSeconds", spec.probe().confirm_seconds());
    w.EndMap();
  }
  if (spec.rollback() != v1::ROLLBACK_POLICY_UNSPECIFIED) {
    w.Str("rollback", RollbackPolicyName(spec.rollback()));
  }
  w.EndMap();

  const auto& st = f.status();
  if (st.ByteSizeLong() != 0) {
    w.Map("status");
    w.Int("observedGeneration", st.observed_generation());
    WriteConditions(w, st.conditions());
    if (!st.nodes().empty()) {
      w.List("nodes");
      for (const auto& n : st.nodes()) {
        w.Item();
        w.Str("name", n.name());
        w.Str("role", n.role());
        w.Str("state", n.state());
        w.Int("appliedGeneration", n.applied_generation());
        w.Str("address", n.address());
        w.Str("message", n.message());
        w.Str("dataPath", n.data_path());
        w.Str("dataPathMessage", n.data_path_message());
        w.EndMap();
      }
      w.EndList();
    }
    w.Str("returnVia", st.return_via());
    w.Int("rolledBackToGeneration", st.rolled_back_to_generation());
    w.EndMap();
  }
  return w.Finish();
}

std::string EncodeNode(const v1::Node& n) {
  Writer w;
  WriteMeta(w, n.api_version(), n.kind(), n.metadata());
  if (n.spec().labels().empty()) {
    w.EmptyMap("spec");
  } else {
    w.Map("spec");
    WriteLabels(w, "labels", n.spec().labels());
    w.EndMap();
  }
  const auto& st = n.status();
  if (st.ByteSizeLong() != 0) {
    w.Map("status");
    if (!st.addresses().empty()) {
      w.List("addresses");
      for (const auto& a : st.addresses()) {
        w.Item();
        w.Str("interface", a.interface());
        w.Str("address", a.address());
        w.Int("prefixLength", a.prefix_length());
        w.EndMap();
      }
      w.EndList();
    }
    WriteConditions(w, st.conditions());
    w.Str("agentVersion", st.agent_version());
    w.Str("appliedConfigVersion", st.applied_config_version());
    w.Time("lastSeen", st.last_seen());
    WriteLabels(w, "agentLabels", st.agent_labels());
    if (!st.route_sources().empty()) {
      w.List("routeSources");
      for (const auto& r : st.route_sources()) {
        w.Item();
        w.Str("destination", r.destination());
        w.Str("source", r.source());
        w.Str("interface", r.interface());
        w.EndMap();
      }
      w.EndList();
    }
    w.EndMap();
  }
  return w.Finish();
}

// Events have no spec or status: their fields sit at the top level, as in
// Kubernetes' core/v1 Event.
std::string EncodeEvent(const v1::Event& e) {
  Writer w;
  WriteMeta(w, e.api_version(), e.kind(), e.metadata());
  if (e.has_involved_object()) {
    w.Map("involvedObject");
    w.Str("kind", e.involved_object().kind());
    w.Str("name", e.involved_object().name());
    w.EndMap();
  }
  w.Str("reason", e.reason());
  w.Str("message", e.message());
  w.Str("type", e.type());
  w.Str("node", e.node());
  w.Int("count", e.count());
  w.Time("firstTimestamp", e.first_timestamp());
  w.Time("lastTimestamp", e.last_timestamp());
  return w.Finish();
}

}  // namespace

std::string EncodeYaml(const v1::Object& object) {
  switch (object.kind_case()) {
    case v1::Object::kIpForward:
      return EncodeForward(object.ip_forward());
    case v1::Object::kNode:
      return EncodeNode(object.node());
    case v1::Object::kEvent:
      return EncodeEvent(object.event());
    case v1::Object::KIND_NOT_SET:
      break;
  }
  return "{}\n";
}

std::string EncodeJson(const v1::Object& object) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string out;
  google::protobuf::util::Status s;
  switch (object.kind_case()) {
    case v1::Object::kIpForward:
      s = google::protobuf::util::MessageToJsonString(object.ip_forward(), &out, options);
      break;
    case v1::Object::kNode:
      s = google::protobuf::util::MessageToJsonString(object.node(), &out, options);
      break;
    case v1::Object::kEvent:
      s = google::protobuf::util::MessageToJsonString(object.event(), &out, options);
      break;
    case v1::Object::KIND_NOT_SET:
      return "{}\n";
  }
  // Printing a valid message cannot fail; an empty object beats a crash.
  return s.ok() ? out : "{}\n";
}

}  // namespace ferry::api
