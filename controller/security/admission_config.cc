// LoadAdmissionPolicy: the --admission-config file. Strict like manifests:
// unknown keys, wrong types and bad CIDRs are refused, each error pointing
// at its line and column.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lib/files.h"
#include "api/lib/yaml_tree.h"
#include "controller/security/admission.h"

namespace ferry::controller {
namespace {

using api::YamlNode;

// Far above any real policy; the file is read whole.
constexpr size_t kMaxConfigBytes = 1 << 20;

class PolicyDecoder {
 public:
  explicit PolicyDecoder(absl::string_view source) : source_(source) {}

  absl::Status Decode(const YamlNode& root, AdmissionPolicy* policy) {
    if (root.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (root.type != YamlNode::Type::kMap) {
      return Error(root, "",
                   absl::StrCat("an admission config must be a map with reservedPorts, "
                                "backendDeny and nodes, got ",
                                root.TypeName()));
    }
    return Fields(root, "", {"reservedPorts", "backendDeny", "nodes"},
                  [&](absl::string_view key, const YamlNode& value, const std::string& path) {
                    if (key == "reservedPorts") return Ports(value, path, &policy->reserved_ports);
                    if (key == "backendDeny")
                      return Cidrs(value, path, &policy->backend_deny_cidrs);
                    return Nodes(value, path, &policy->claimable_addresses);
                  });
  }

 private:
  using FieldFn =
      std::function<absl::Status(absl::string_view, const YamlNode&, const std::string&)>;

  absl::Status Error(const YamlNode& at, absl::string_view path, absl::string_view message) const {
    return absl::InvalidArgumentError(
        api::AtPosition(source_, at.line, at.column,
                        path.empty() ? std::string(message) : absl::StrCat(path, ": ", message)));
  }

  // Each entry of a map, refusing keys not in `allowed`.
  absl::Status Fields(const YamlNode& node, const std::string& path,
                      std::initializer_list<absl::string_view> allowed, const FieldFn& fn) {
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kMap) {
      return Error(node, path, absl::StrCat("must be a map, got ", node.TypeName()));
    }
    for (const auto& [key, value] : node.entries) {
      const std::string field = path.empty() ? key->value : absl::StrCat(path, ".", key->value);
      if (std::find(allowed.begin(), allowed.end(), key->value) == allowed.end()) {
        return Error(*key, field,
                     absl::StrCat("unknown field \"", key->value,
                                  "\"; expected one of: ", absl::StrJoin(allowed, ", ")));
      }
      if (absl::Status s = fn(key->value, *value, field); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status List(const YamlNode& node, const std::string& path) {
    if (node.type == YamlNode::Type::kSequence || node.type == YamlNode::Type::kNull) {
      return absl::OkStatus();
    }
    return Error(node, path, absl::StrCat("must be a list, got ", node.TypeName()));
  }

  // A present key replaces the default set: an empty list reserves nothing.
  absl::Status Ports(const YamlNode& node, const std::string& path, std::set<uint32_t>* out) {
    if (absl::Status s = List(node, path); !s.ok()) return s;
    out->clear();
    for (size_t i = 0; i < node.items.size(); ++i) {
      const YamlNode& item = *node.items[i];
      uint32_t port = 0;
      if (item.type != YamlNode::Type::kScalar || item.is_string ||
          !absl::SimpleAtoi(item.value, &port) || port < 1 || port > 65535) {
        std::string got = item.type == YamlNode::Type::kScalar
                              ? absl::StrCat(item.TypeName(), " \"", item.value, "\"")
                              : std::string(item.TypeName());
        return Error(item, absl::StrCat(path, "[", i, "]"),
                     absl::StrCat("must be a port 1..65535, got ", got));
      }
      out->insert(port);
    }
    return absl::OkStatus();
  }

  absl::Status Cidrs(const YamlNode& node, const std::string& path, std::vector<std::string>* out) {
    if (absl::Status s = List(node, path); !s.ok()) return s;
    out->clear();
    for (size_t i = 0; i < node.items.size(); ++i) {
      const YamlNode& item = *node.items[i];
      const std::string item_path = absl::StrCat(path, "[", i, "]");
      if (item.type != YamlNode::Type::kScalar) {
        return Error(
            item, item_path,
            absl::StrCat("must be a CIDR block such as 10.0.0.0/8, got ", item.TypeName()));
      }
      if (absl::StatusOr<Cidr> cidr = ParseCidr(item.value); !cidr.ok()) {
        return Error(item, item_path, cidr.status().message());
      }
      out->push_back(item.value);
    }
    return absl::OkStatus();
  }

  absl::Status Nodes(const YamlNode& node, const std::string& path,
                     std::map<std::string, std::vector<std::string>>* out) {
    if (node.type == YamlNode::Type::kNull) return absl::OkStatus();
    if (node.type != YamlNode::Type::kMap) {
      return Error(node, path, absl::StrCat("must be a map of node names, got ", node.TypeName()));
    }
    out->clear();
    for (const auto& [key, value] : node.entries) {
      const std::string node_path = absl::StrCat(path, ".", key->value);
      std::vector<std::string>& cidrs = (*out)[key->value];
      absl::Status s = Fields(*value, node_path, {"claimableAddresses"},
                              [&](absl::string_view, const YamlNode& v, const std::string& field) {
                                return Cidrs(v, field, &cidrs);
                              });
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  const std::string source_;
};

}  // namespace

absl::StatusOr<AdmissionPolicy> LoadAdmissionPolicy(const std::string& path,
                                                    AdmissionPolicy defaults) {
  absl::StatusOr<std::string> text = api::ReadFileToString(path, kMaxConfigBytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("--admission-config: ", text.status().message()));
  }
  absl::StatusOr<api::YamlStream> stream = api::ParseYamlStream(*text, path);
  if (!stream.ok()) return stream.status();
  if (stream->documents.size() > 1) {
    return absl::InvalidArgumentError(
        api::AtPosition(path, stream->documents[1].line, 1,
                        "an admission config is one YAML document, got several"));
  }
  AdmissionPolicy policy = std::move(defaults);
  if (stream->documents.empty()) return policy;
  PolicyDecoder decoder(path);
  if (absl::Status s = decoder.Decode(*stream->documents[0].root, &policy); !s.ok()) return s;
  // Catches what the decoder does not look at, so both paths agree.
  if (absl::Status s = ValidateAdmissionPolicy(policy); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return policy;
}

}  // namespace ferry::controller
