// Strict decoding of manifests: YAML tree -> ferry.v1.Object, one document
// at a time.
//
// Errors found later by ValidateObject ("spec.ports[0].port: ...") are
// pointed at a line and column by walking the document's tree along the
// path (Locate). Null values count as absent, as in Kubernetes.

#include "api/lib/manifest.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lib/manifest_locate.h"
#include "api/lib/objects.h"
#include "api/lib/validation.h"
#include "api/lib/yaml_reader.h"
#include "api/lib/yaml_tree.h"
#include "google/protobuf/util/time_util.h"

namespace ferry::api {
namespace {

using ferry::v1::Object;
using ferry::v1::ObjectMeta;
using ferry::v1::PortMapping;
using Fields = std::initializer_list<absl::string_view>;

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

// A field path ("spec.ports[0].port"), spelled out only when an error
// names it: decoding a large manifest builds none.
class FieldPath {
 public:
  FieldPath() = default;  // the document itself: ""
  FieldPath Field(absl::string_view key) const { return FieldPath(this, key, kNoIndex); }
  FieldPath Item(size_t index) const { return FieldPath(this, "", index); }

  std::string str() const {
    if (parent_ == nullptr) return "";
    if (index_ != kNoIndex) return absl::StrCat(parent_->str(), "[", index_, "]");
    return Join(parent_->str(), key_);
  }

 private:
  static constexpr size_t kNoIndex = ~size_t{0};
  FieldPath(const FieldPath* parent, absl::string_view key, size_t index)
      : parent_(parent), key_(key), index_(index) {}

  const FieldPath* parent_ = nullptr;
  absl::string_view key_;
  size_t index_ = kNoIndex;
};

using FieldFn =
    absl::FunctionRef<absl::Status(absl::string_view, const YamlNode&, const FieldPath&)>;

std::string Describe(const YamlNode& n) {
  if (n.type != YamlNode::Type::kScalar) return std::string(n.TypeName());
  return absl::StrCat(n.TypeName(), " \"", n.value, "\"");
}

class Decoder {
 public:
  explicit Decoder(absl::string_view source) : source_(source) {}

  // Decodes and validates one document into `object` (clear).
  absl::Status Decode(const YamlNode& root, Object& object) {
    if (root.type != YamlNode::Type::kMap) {
      return absl::InvalidArgumentError(
          AtPosition(source_, root.line, root.column,
                     absl::StrCat("a manifest must be a map with apiVersion, "
                                  "kind, metadata and spec, got ",
                                  root.TypeName())));
    }
    const FieldPath top;
    const YamlNode* kind = root.Find("kind");
    if (kind == nullptr || kind->type == YamlNode::Type::kNull) {
      return Error(root, "kind", "required; expected IPForward or Node");
    }
    if (kind->type != YamlNode::Type::kScalar) {
      return Error(*kind, "kind", absl::StrCat("must be a string, got ", kind->TypeName()));
    }
    if (kind->value == "Event") {
      return Error(*kind, "kind", "Event is written by the controller; it cannot be applied");
    }
    if (kind->value == "IPForward") {
      auto* f = object.mutable_ip_forward();
      absl::Status s = DecodeTop(
          root, f->mutable_api_version(), f->mutable_kind(), f->mutable_metadata(),
          [&](const YamlNode& spec) { return DecodeForwardSpec(spec, *f->mutable_spec()); });
      if (!s.ok()) return s;
    } else if (kind->value == "Node") {
      auto* n = object.mutable_node();
      absl::Status s = DecodeTop(
          root, n->mutable_api_version(), n->mutable_kind(), n->mutable_metadata(),
          [&](const YamlNode& spec) {
            return VisitFields(spec, top.Field("spec"), {"labels"},
                               [&](absl::string_view, const YamlNode& v, const FieldPath& path) {
                                 return DecodeLabels(v, path, n->mutable_spec()->mutable_labels());
                               });
          });
      if (!s.ok()) return s;
    } else {
      return Error(*kind, "kind",
                   absl::StrCat("unknown kind \"", kind->value, "\"; expected IPForward or Node"));
    }
    if (std::optional<FieldError> e = FindFieldError(object)) {
      return Error(LocateVisited(root, e->path), e->path, e->message);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const YamlNode& at, absl::string_view path, absl::string_view message) const {
    return absl::InvalidArgumentError(
        AtPosition(source_, at.line, at.column, absl::StrCat(path, ": ", message)));
  }
  absl::Status Error(const YamlNode& at, const FieldPath& path, absl::string_view message) const {
    return Error(at, path.str(), message);
  }

  absl::Status DecodeTop(const YamlNode& root, std::string* api_version, std::string* kind,
                         ObjectMeta* meta, absl::FunctionRef<absl::Status(const YamlNode&)> spec) {
    return VisitFields(root, FieldPath(), {"apiVersion", "kind", "metadata", "spec", "status"},
                       [&](absl::string_view key, const YamlNode& v, const FieldPath& path) {
                         if (key == "apiVersion") return String(v, path, api_version);
                         if (key == "kind") return String(v, path, kind);
                         if (key == "metadata") return DecodeMeta(v, path, *meta);
                         if (key == "spec") return spec(v);
                         // status is written by the controller; like kubectl, ignore it.
                         if (v.type == YamlNode::Type::kMap || v.type == YamlNode::Type::kNull) {
                           return absl::OkStatus();
                         }
                         return Error(v, path, absl::StrCat("must be a map, got ", v.TypeName()));
                       });
  }

  absl::Status DecodeMeta(const YamlNode& node, const FieldPath& at, ObjectMeta& meta) {
    return VisitFields(
        node, at, {"name", "labels", "uid", "generation", "resourceVersion", "creationTimestamp"},
        [&](absl::string_view key, const YamlNode& v, const FieldPath& path) {
          if (key == "name") return String(v, path, meta.mutable_name());
          if (key == "labels") return DecodeLabels(v, path, meta.mutable_labels());
          if (key == "uid") return String(v, path, meta.mutable_uid());
          if (key == "resourceVersion") return String(v, path, meta.mutable_resource_version());
          if (key == "generation") {
            int64_t g = 0;
            absl::Status s =
                Integer(v, path, std::numeric_limits<int64_t>::max(), "a non-negative integer", &g);
            meta.set_generation(g);
            return s;
          }
          std::string text;
          if (absl::Status s = String(v, path, &text); !s.ok() || text.empty()) return s;
          if (!google::protobuf::util::TimeUtil::FromString(text,
                                                            meta.mutable_creation_timestamp())) {
            return Error(v, path,
                         absl::StrCat("must be an RFC 3339 time such as 2026-11-25T12:00:00Z, "
                                      "got \"",
                                      text, "\""));
          }
          return absl::OkStatus();
        });
  }

  absl::Status DecodeLabels(const YamlNode& node, const FieldPath& path,
                            google::protobuf::Map<std::string, std::string>* labels) {
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kMap) {
      return Error(node, path, absl::StrCat("must be a map of strings, got ", node.TypeName()));
    }
    for (const auto& [k, v] : node.entries) {
      if (v->type != YamlNode::Type::kScalar) {
        return Error(
            *v, path.Field(k->value),
            absl::StrCat("must be a string, got ", v->TypeName(),
                         v->type == YamlNode::Type::kNull ? "; write \"\" for empty" : ""));
      }
      (*labels)[k->value] = v->value;
    }
    return absl::OkStatus();
  }

  absl::Status DecodeForwardSpec(const YamlNode& node, v1::IPForwardSpec& spec) {
    const FieldPath top;
    return VisitFields(
        node, top.Field("spec"),
        {"frontend", "backend", "ports", "sourceIP", "driftPolicy", "rollout", "probe", "rollback"},
        [&](absl::string_view key, const YamlNode& v, const FieldPath& path) {
          if (key == "frontend") {
            auto& fe = *spec.mutable_frontend();
            return VisitFields(v, path, {"nodeName", "nodeSelector", "address", "interface"},
                               [&](absl::string_view k, const YamlNode& x, const FieldPath& p) {
                                 if (k == "nodeSelector")
                                   return DecodeNodeSelector(x, p, *fe.mutable_node_selector());
                                 return String(x, p,
                                               k == "nodeName"  ? fe.mutable_node_name()
                                               : k == "address" ? fe.mutable_address()
                                                                : fe.mutable_interface());
                               });
          }
          if (key == "backend") {
            auto& be = *spec.mutable_backend();
            return VisitFields(v, path, {"nodeName", "address", "returnVia"},
                               [&](absl::string_view k, const YamlNode& x, const FieldPath& p) {
                                 return String(x, p,
                                               k == "nodeName"  ? be.mutable_node_name()
                                               : k == "address" ? be.mutable_address()
                                                                : be.mutable_return_via());
                               });
          }
          if (key == "ports") return DecodePorts(v, path, spec);
          if (key == "rollout") {
            v1::Rollout& rollout = *spec.mutable_rollout();
            return VisitFields(v, path, {"maxUnavailable", "progressDeadlineSeconds"},
                               [&](absl::string_view k, const YamlNode& x, const FieldPath& p) {
                                 if (k == "maxUnavailable") {
                                   // 1 or "25%", as a Deployment's: a number or a string.
                                   return String(x, p, rollout.mutable_max_unavailable());
                                 }
                                 int64_t n = 0;
                                 absl::Status s =
                                     Integer(x, p, 86400, "0 (30 s) or 1..86400 seconds", &n);
                                 rollout.set_progress_deadline_seconds(static_cast<uint32_t>(n));
                                 return s;
                               });
          }
          if (key == "probe") {
            v1::Probe& probe = *spec.mutable_probe();
            return VisitFields(
                v, path, {"periodSeconds", "timeoutSeconds", "confirmSeconds"},
                [&](absl::string_view k, const YamlNode& x, const FieldPath& p) {
                  int64_t n = 0;
                  absl::Status s =
                      k == "periodSeconds"
                          ? Integer(x, p, 86400, "0 (the agent's --probe-period) or 1..86400", &n)
                      : k == "timeoutSeconds" ? Integer(x, p, 60, "0 (2 s) or 1..60", &n)
                                              : Integer(x, p, 3600, "0 (10 s) or 1..3600", &n);
                  const auto value = static_cast<uint32_t>(n);
                  if (k == "periodSeconds") probe.set_period_seconds(value);
                  if (k == "timeoutSeconds") probe.set_timeout_seconds(value);
                  if (k == "confirmSeconds") probe.set_confirm_seconds(value);
                  return s;
                });
          }
          if (key == "rollback") {
            return Enum<v1::RollbackPolicy>(
                v, path, {{"Never", v1::NEVER}, {"OnProbeFailure", v1::ON_PROBE_FAILURE}},
                [&](v1::RollbackPolicy e) { spec.set_rollback(e); });
          }
          if (key == "sourceIP") {
            return Enum<v1::SourceIP>(v, path,
                                      {{"Preserve", v1::PRESERVE}, {"Masquerade", v1::MASQUERADE}},
                                      [&](v1::SourceIP e) { spec.set_source_ip(e); });
          }
          return Enum<v1::DriftPolicy>(v, path, {{"Enforce", v1::ENFORCE}, {"Alert", v1::ALERT}},
                                       [&](v1::DriftPolicy e) { spec.set_drift_policy(e); });
        });
  }

  absl::Status DecodeNodeSelector(const YamlNode& node, const FieldPath& path,
                                  v1::NodeSelector& selector) {
    return VisitFields(
        node, path, {"matchLabels", "matchExpressions"},
        [&](absl::string_view key, const YamlNode& v, const FieldPath& field) {
          if (key == "matchLabels") {
            google::protobuf::Map<std::string, std::string> labels;
            if (absl::Status s = DecodeLabels(v, field, &labels); !s.ok()) return s;
            // Sorted by key: what the proto's list promises (ferry.proto).
            std::vector<std::pair<std::string, std::string>> sorted(labels.begin(), labels.end());
            std::sort(sorted.begin(), sorted.end());
            for (auto& [k, value] : sorted) {
              v1::LabelPair* pair = selector.add_match_labels();
              pair->set_key(k);
              pair->set_value(value);
            }
            return absl::OkStatus();
          }
          if (v.type == YamlNode::Type::kNull) return absl::OkStatus();
          if (v.type != YamlNode::Type::kSequence) {
            return Error(v, field, absl::StrCat("must be a list, got ", v.TypeName()));
          }
          for (size_t i = 0; i < v.items.size(); ++i) {
            v1::LabelSelectorRequirement& term = *selector.add_match_expressions();
            absl::Status s =
                VisitFields(*v.items[i], field.Item(i), {"key", "operator", "values"},
                            [&](absl::string_view k, const YamlNode& x, const FieldPath& p) {
                              if (k == "key") return String(x, p, term.mutable_key());
                              if (k == "operator") return String(x, p, term.mutable_operator_());
                              return Strings(x, p, term.mutable_values());
                            });
            if (!s.ok()) return s;
          }
          return absl::OkStatus();
        });
  }

  absl::Status Strings(const YamlNode& node, const FieldPath& path,
                       google::protobuf::RepeatedPtrField<std::string>* out) {
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kSequence) {
      return Error(node, path, absl::StrCat("must be a list of strings, got ", node.TypeName()));
    }
    for (size_t i = 0; i < node.items.size(); ++i) {
      if (absl::Status s = String(*node.items[i], path.Item(i), out->Add()); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status DecodePorts(const YamlNode& node, const FieldPath& path, v1::IPForwardSpec& spec) {
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kSequence) {
      return Error(node, path, absl::StrCat("must be a list, got ", node.TypeName()));
    }
    for (size_t i = 0; i < node.items.size(); ++i) {
      PortMapping& p = *spec.add_ports();
      absl::Status s = VisitFields(
          *node.items[i], path.Item(i), {"protocol", "port", "endPort", "targetPort"},
          [&](absl::string_view k, const YamlNode& v, const FieldPath& field) {
            if (k == "protocol") {
              return Enum<v1::Protocol>(v, field, {{"TCP", v1::TCP}, {"UDP", v1::UDP}},
                                        [&](v1::Protocol e) { p.set_protocol(e); });
            }
            // Only what uint32 cannot hold is caught here; ValidateObject
            // owns the real ranges and their messages.
            absl::string_view range = k == "port"      ? "1..65535"
                                      : k == "endPort" ? "0 (single port) or port..65535"
                                                       : "0 (same as port) or 1..65535";
            int64_t n = 0;
            absl::Status s = Integer(v, field, std::numeric_limits<uint32_t>::max(), range, &n);
            uint32_t value = static_cast<uint32_t>(n);
            if (k == "port") p.set_port(value);
            if (k == "endPort") p.set_end_port(value);
            if (k == "targetPort") p.set_target_port(value);
            return s;
          });
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // A case-sensitive enum value, as Kubernetes spells them; the error lists
  // every allowed value.
  template <typename E>
  absl::Status Enum(const YamlNode& v, const FieldPath& path,
                    std::initializer_list<std::pair<absl::string_view, E>> values,
                    absl::FunctionRef<void(E)> set) {
    if (v.type == YamlNode::Type::kNull) return absl::OkStatus();
    for (const auto& [name, value] : values) {
      if (v.type == YamlNode::Type::kScalar && v.value == name) {
        set(value);
        return absl::OkStatus();
      }
    }
    std::vector<absl::string_view> names;
    for (const auto& entry : values) names.push_back(entry.first);
    std::string allowed =
        names.size() == 2 ? absl::StrCat(names[0], " or ", names[1]) : absl::StrJoin(names, ", ");
    return Error(v, path, absl::StrCat("must be ", allowed, ", got ", Describe(v)));
  }

  // Calls `fn` for each entry of a map; unknown keys are errors. A null
  // node is an empty map.
  absl::Status VisitFields(const YamlNode& node, const FieldPath& path, Fields allowed,
                           FieldFn fn) {
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kMap) {
      return Error(node, path, absl::StrCat("must be a map, got ", Describe(node)));
    }
    for (const auto& [k, v] : node.entries) {
      const FieldPath field = path.Field(k->value);
      if (std::find(allowed.begin(), allowed.end(), k->value) == allowed.end()) {
        std::string expected =
            allowed.size() == 0 ? std::string("this map takes no fields")
                                : absl::StrCat("expected one of: ", absl::StrJoin(allowed, ", "));
        return Error(*k, field, absl::StrCat("unknown field \"", k->value, "\"; ", expected));
      }
      if (absl::Status s = fn(k->value, *v, field); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status String(const YamlNode& v, const FieldPath& path, std::string* out) {
    if (v.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (v.type != YamlNode::Type::kScalar) {
      return Error(v, path, absl::StrCat("must be a string, got ", v.TypeName()));
    }
    *out = v.value;
    return absl::OkStatus();
  }

  // A plain decimal integer in [0, max]; "80" in quotes is a string.
  absl::Status Integer(const YamlNode& v, const FieldPath& path, int64_t max,
                       absl::string_view range, int64_t* out) {
    if (v.type == YamlNode::Type::kNull) return absl::OkStatus();
    int64_t n = 0;
    bool digits = v.type == YamlNode::Type::kScalar && !v.is_string && !v.value.empty() &&
                  v.value.find_first_not_of("+-0123456789") == std::string::npos;
    if (!digits || !absl::SimpleAtoi(v.value, &n)) {
      return Error(v, path, absl::StrCat("must be an integer, got ", Describe(v)));
    }
    if (n < 0 || n > max) return Error(v, path, absl::StrCat("must be ", range, ", got ", v.value));
    *out = n;
    return absl::OkStatus();
  }

  const absl::string_view source_;
};

}  // namespace

absl::Status DecodeManifestStream(absl::string_view yaml, absl::string_view source,
                                  absl::FunctionRef<void(const DecodedManifest&)> visit) {
  YamlReader reader(yaml, source);
  Decoder decoder(source);
  Object object;
  // (kind, name) -> the line of the metadata.name that first used it.
  absl::flat_hash_map<std::pair<int, std::string>, int> seen;
  // The first problem of a document. A YAML error later in the stream still
  // comes first, as it did when the whole stream was parsed before decoding.
  absl::Status problem;
  while (true) {
    absl::StatusOr<const YamlDocument*> doc = reader.Next();
    if (!doc.ok()) return doc.status();
    if (*doc == nullptr) break;
    if (!problem.ok() || (*doc)->root->type == YamlNode::Type::kNull) continue;
    object.Clear();
    if (absl::Status s = decoder.Decode(*(*doc)->root, object); !s.ok()) {
      problem = s;
      continue;
    }
    const std::string& name = MetaOf(object).name();
    const YamlNode& at = LocateVisited(*(*doc)->root, "metadata.name");
    auto [it, inserted] = seen.try_emplace(std::make_pair(object.kind_case(), name), at.line);
    if (!inserted) {
      problem = absl::InvalidArgumentError(
          AtPosition(source, at.line, at.column,
                     absl::StrCat("metadata.name: ", KindName(object), " \"", name,
                                  "\" is defined twice in this stream, at line ", it->second,
                                  " and at line ", at.line, "; names must be unique per kind")));
      continue;
    }
    visit(DecodedManifest{object, (*doc)->line, reader.document_offset()});
  }
  return problem;
}

absl::StatusOr<std::vector<ManifestObject>> DecodeManifests(absl::string_view yaml,
                                                            absl::string_view source) {
  std::vector<ManifestObject> out;
  absl::Status s = DecodeManifestStream(yaml, source, [&](const DecodedManifest& m) {
    out.push_back(ManifestObject{m.object, std::string(source), m.line});
  });
  if (!s.ok()) return s;
  return out;
}

std::optional<SourcePosition> LocateField(absl::string_view yaml, const Object& wanted,
                                          absl::string_view path) {
  const ferry::v1::Object::KindCase kind = wanted.kind_case();
  const std::string& name = MetaOf(wanted).name();
  YamlReader reader(yaml, "");
  Decoder decoder("");
  Object object;
  while (true) {
    absl::StatusOr<const YamlDocument*> doc = reader.Next();
    if (!doc.ok() || *doc == nullptr) return std::nullopt;
    if ((*doc)->root->type == YamlNode::Type::kNull) continue;
    object.Clear();
    if (!decoder.Decode(*(*doc)->root, object).ok() || object.kind_case() != kind ||
        MetaOf(object).name() != name) {
      continue;
    }
    const YamlNode& at = LocateVisited(*(*doc)->root, std::string(path));
    return SourcePosition{at.line, at.column};
  }
}

}  // namespace ferry::api
