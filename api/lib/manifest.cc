// Strict decoding of manifests: YAML tree -> ferry.v1.Object.
//
// Every value node is recorded under its field path, so errors found later
// by ValidateObject ("spec.ports[0].port: ...") still point at a line and
// column. Null values count as absent, as in Kubernetes.

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
#include "api/lib/validation.h"
#include "api/lib/yaml_tree.h"
#include "google/protobuf/util/time_util.h"

namespace ferry::api {
namespace {

using ferry::v1::Object;
using ferry::v1::ObjectMeta;
using ferry::v1::PortMapping;
using Fields = std::initializer_list<absl::string_view>;
using FieldFn =
    absl::FunctionRef<absl::Status(absl::string_view, const YamlNode&, const std::string&)>;

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Describe(const YamlNode& n) {
  if (n.type != YamlNode::Type::kScalar) return std::string(n.TypeName());
  return absl::StrCat(n.TypeName(), " \"", n.value, "\"");
}

absl::Status NoFields(absl::string_view, const YamlNode&, const std::string&) {
  return absl::OkStatus();
}

class Decoder {
 public:
  explicit Decoder(absl::string_view source) : source_(source) {}

  absl::StatusOr<Object> Decode(const YamlNode& root) {
    nodes_[""] = &root;
    if (root.type != YamlNode::Type::kMap) {
      return absl::InvalidArgumentError(
          AtPosition(source_, root.line, root.column,
                     absl::StrCat("a manifest must be a map with apiVersion, "
                                  "kind, metadata and spec, got ",
                                  root.TypeName())));
    }
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
    Object object;
    if (kind->value == "IPForward") {
      auto* f = object.mutable_ip_forward();
      absl::Status s = DecodeTop(
          root, f->mutable_api_version(), f->mutable_kind(), f->mutable_metadata(),
          [&](const YamlNode& spec) { return DecodeForwardSpec(spec, *f->mutable_spec()); });
      if (!s.ok()) return s;
    } else if (kind->value == "Node") {
      auto* n = object.mutable_node();
      absl::Status s = DecodeTop(root, n->mutable_api_version(), n->mutable_kind(),
                                 n->mutable_metadata(), [&](const YamlNode& spec) {
                                   // NodeSpec has no fields: any key is unknown.
                                   return VisitFields(spec, "spec", {}, NoFields);
                                 });
      if (!s.ok()) return s;
    } else {
      return Error(*kind, "kind",
                   absl::StrCat("unknown kind \"", kind->value, "\"; expected IPForward or Node"));
    }
    if (std::optional<FieldError> e = FindFieldError(object)) {
      const YamlNode& at = Locate(e->path);
      return Error(at, e->path, e->message);
    }
    return object;
  }

  // The node recorded for `path`, or for its nearest recorded parent when
  // the field is missing.
  const YamlNode& Locate(std::string path) const {
    while (true) {
      if (auto it = nodes_.find(path); it != nodes_.end()) return *it->second;
      size_t cut = path.back() == ']' ? path.rfind('[') : path.rfind('.');
      path = cut == std::string::npos ? "" : path.substr(0, cut);
    }
  }

 private:
  absl::Status Error(const YamlNode& at, absl::string_view path, absl::string_view message) const {
    return absl::InvalidArgumentError(
        AtPosition(source_, at.line, at.column, absl::StrCat(path, ": ", message)));
  }

  absl::Status DecodeTop(const YamlNode& root, std::string* api_version, std::string* kind,
                         ObjectMeta* meta, absl::FunctionRef<absl::Status(const YamlNode&)> spec) {
    return VisitFields(root, "", {"apiVersion", "kind", "metadata", "spec", "status"},
                       [&](absl::string_view key, const YamlNode& v, const std::string& path) {
                         if (key == "apiVersion") return String(v, path, api_version);
                         if (key == "kind") return String(v, path, kind);
                         if (key == "metadata") return DecodeMeta(v, *meta);
                         if (key == "spec") return spec(v);
                         // status is written by the controller; like kubectl, ignore it.
                         if (v.type == YamlNode::Type::kMap || v.type == YamlNode::Type::kNull) {
                           return absl::OkStatus();
                         }
                         return Error(v, path, absl::StrCat("must be a map, got ", v.TypeName()));
                       });
  }

  absl::Status DecodeMeta(const YamlNode& node, ObjectMeta& meta) {
    return VisitFields(
        node, "metadata",
        {"name", "labels", "uid", "generation", "resourceVersion", "creationTimestamp"},
        [&](absl::string_view key, const YamlNode& v, const std::string& path) {
          if (key == "name") return String(v, path, meta.mutable_name());
          if (key == "labels") return DecodeLabels(v, path, meta);
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

  absl::Status DecodeLabels(const YamlNode& node, const std::string& path, ObjectMeta& meta) {
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kMap) {
      return Error(node, path, absl::StrCat("must be a map of strings, got ", node.TypeName()));
    }
    for (const auto& [k, v] : node.entries) {
      std::string label_path = Join(path, k->value);
      nodes_[label_path] = k;
      if (v->type != YamlNode::Type::kScalar) {
        return Error(
            *v, label_path,
            absl::StrCat("must be a string, got ", v->TypeName(),
                         v->type == YamlNode::Type::kNull ? "; write \"\" for empty" : ""));
      }
      (*meta.mutable_labels())[k->value] = v->value;
    }
    return absl::OkStatus();
  }

  absl::Status DecodeForwardSpec(const YamlNode& node, v1::IPForwardSpec& spec) {
    return VisitFields(
        node, "spec", {"frontend", "backend", "ports", "sourceIP", "driftPolicy"},
        [&](absl::string_view key, const YamlNode& v, const std::string& path) {
          if (key == "frontend") {
            auto& fe = *spec.mutable_frontend();
            return VisitFields(
                v, path, {"nodeName", "address"},
                [&](absl::string_view k, const YamlNode& x, const std::string& p) {
                  return String(x, p,
                                k == "nodeName" ? fe.mutable_node_name() : fe.mutable_address());
                });
          }
          if (key == "backend") {
            auto& be = *spec.mutable_backend();
            return VisitFields(v, path, {"nodeName", "address", "returnVia"},
                               [&](absl::string_view k, const YamlNode& x, const std::string& p) {
                                 return String(x, p,
                                               k == "nodeName"  ? be.mutable_node_name()
                                               : k == "address" ? be.mutable_address()
                                                                : be.mutable_return_via());
                               });
          }
          if (key == "ports") return DecodePorts(v, path, spec);
          if (key == "sourceIP") {
            return Enum<v1::SourceIP>(v, path,
                                      {{"Preserve", v1::PRESERVE}, {"Masquerade", v1::MASQUERADE}},
                                      [&](v1::SourceIP e) { spec.set_source_ip(e); });
          }
          return Enum<v1::DriftPolicy>(v, path, {{"Enforce", v1::ENFORCE}, {"Alert", v1::ALERT}},
                                       [&](v1::DriftPolicy e) { spec.set_drift_policy(e); });
        });
  }

  absl::Status DecodePorts(const YamlNode& node, const std::string& path, v1::IPForwardSpec& spec) {
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kSequence) {
      return Error(node, path, absl::StrCat("must be a list, got ", node.TypeName()));
    }
    for (size_t i = 0; i < node.items.size(); ++i) {
      std::string item_path = absl::StrCat(path, "[", i, "]");
      PortMapping& p = *spec.add_ports();
      absl::Status s = VisitFields(
          *node.items[i], item_path, {"protocol", "port", "endPort", "targetPort"},
          [&](absl::string_view k, const YamlNode& v, const std::string& field) {
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
  absl::Status Enum(const YamlNode& v, const std::string& path,
                    std::initializer_list<std::pair<absl::string_view, E>> values,
                    absl::FunctionRef<void(E)> set) {
    if (v.type == YamlNode::Type::kNull) return absl::OkStatus();
    std::vector<absl::string_view> names;
    for (const auto& [name, value] : values) {
      if (v.type == YamlNode::Type::kScalar && v.value == name) {
        set(value);
        return absl::OkStatus();
      }
      names.push_back(name);
    }
    std::string allowed =
        names.size() == 2 ? absl::StrCat(names[0], " or ", names[1]) : absl::StrJoin(names, ", ");
    return Error(v, path, absl::StrCat("must be ", allowed, ", got ", Describe(v)));
  }

  // Calls `fn` for each entry of a map; unknown keys are errors. A null
  // node is an empty map.
  absl::Status VisitFields(const YamlNode& node, const std::string& path, Fields allowed,
                           FieldFn fn) {
    nodes_[path] = &node;
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kMap) {
      return Error(node, path, absl::StrCat("must be a map, got ", Describe(node)));
    }
    for (const auto& [k, v] : node.entries) {
      std::string field = Join(path, k->value);
      if (std::find(allowed.begin(), allowed.end(), k->value) == allowed.end()) {
        std::string expected =
            allowed.size() == 0 ? std::string("this map takes no fields")
                                : absl::StrCat("expected one of: ", absl::StrJoin(allowed, ", "));
        return Error(*k, field, absl::StrCat("unknown field \"", k->value, "\"; ", expected));
      }
      nodes_[field] = v;
      if (absl::Status s = fn(k->value, *v, field); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status String(const YamlNode& v, const std::string& path, std::string* out) {
    if (v.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (v.type != YamlNode::Type::kScalar) {
      return Error(v, path, absl::StrCat("must be a string, got ", v.TypeName()));
    }
    *out = v.value;
    return absl::OkStatus();
  }

  // A plain decimal integer in [0, max]; "80" in quotes is a string.
  absl::Status Integer(const YamlNode& v, const std::string& path, int64_t max,
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

  std::string source_;
  absl::flat_hash_map<std::string, const YamlNode*> nodes_;
};

}  // namespace

absl::StatusOr<std::vector<ManifestObject>> DecodeManifests(absl::string_view yaml,
                                                            absl::string_view source) {
  absl::StatusOr<YamlStream> stream = ParseYamlStream(yaml, source);
  if (!stream.ok()) return stream.status();

  std::vector<ManifestObject> out;
  const auto text = std::make_shared<const std::string>(yaml);
  // (kind, name) -> the metadata.name node that first used it.
  absl::flat_hash_map<std::pair<std::string, std::string>, const YamlNode*> seen;
  for (const YamlDocument& doc : stream->documents) {
    if (doc.root->type == YamlNode::Type::kNull) continue;
    Decoder decoder(source);
    absl::StatusOr<Object> object = decoder.Decode(*doc.root);
    if (!object.ok()) return object.status();
    std::string kind = KindName(*object), name = ObjectName(*object);
    const YamlNode& at = decoder.Locate("metadata.name");
    auto [it, inserted] = seen.emplace(std::make_pair(kind, name), &at);
    if (!inserted) {
      return absl::InvalidArgumentError(
          AtPosition(source, at.line, at.column,
                     absl::StrCat("metadata.name: ", kind, " \"", name,
                                  "\" is defined twice in this stream, at line ", it->second->line,
                                  " and at line ", at.line, "; names must be unique per kind")));
    }
    out.push_back(ManifestObject{*std::move(object), std::string(source), doc.line, text});
  }
  return out;
}

std::optional<SourcePosition> LocateField(absl::string_view yaml, const Object& wanted,
                                          absl::string_view path) {
  const std::string kind = KindName(wanted), name = ObjectName(wanted);
  absl::StatusOr<YamlStream> stream = ParseYamlStream(yaml, "");
  if (!stream.ok()) return std::nullopt;
  for (const YamlDocument& doc : stream->documents) {
    if (doc.root->type == YamlNode::Type::kNull) continue;
    Decoder decoder("");
    absl::StatusOr<Object> object = decoder.Decode(*doc.root);
    if (!object.ok() || KindName(*object) != kind || ObjectName(*object) != name) continue;
    const YamlNode& at = decoder.Locate(std::string(path));
    return SourcePosition{at.line, at.column};
  }
  return std::nullopt;
}

}  // namespace ferry::api
