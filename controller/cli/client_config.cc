#include "controller/cli/client_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lib/yaml_tree.h"
#include "api/security/pki.h"

namespace ferry::cli {
namespace {

using api::YamlNode;

// A config is four short fields and three PEMs; anything near this is not one.
constexpr size_t kMaxConfigBytes = 1u << 20;

struct FieldSpec {
  absl::string_view key;
  std::string ClientConfig::*member;  // null: apiVersion and kind, checked not kept
};

const FieldSpec kFields[] = {
    {"apiVersion", nullptr},
    {"kind", nullptr},
    {"server", &ClientConfig::server},
    {"certificateAuthority", &ClientConfig::certificate_authority},
    {"clientCertificate", &ClientConfig::client_certificate},
    {"clientKey", &ClientConfig::client_key},
};

constexpr absl::string_view kFieldList =
    "apiVersion, kind, server, certificateAuthority, clientCertificate or clientKey";

class Parser {
 public:
  explicit Parser(absl::string_view source) : source_(source) {}

  absl::StatusOr<ClientConfig> Parse(absl::string_view yaml) {
    api::YamlLimits limits;
    limits.max_input_bytes = kMaxConfigBytes;
    absl::StatusOr<api::YamlStream> stream = api::ParseYamlStream(yaml, source_, limits);
    if (!stream.ok()) return stream.status();
    const YamlNode* root = nullptr;
    for (const api::YamlDocument& doc : stream->documents) {
      if (doc.root == nullptr || doc.root->type == YamlNode::Type::kNull) continue;
      if (root != nullptr) {
        return absl::InvalidArgumentError(api::AtPosition(
            source_, doc.line, 1, "a client config is one document; found a second"));
      }
      root = doc.root;
    }
    if (root == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_, ": empty; want a client config (apiVersion: ", kClientConfigApiVersion,
          ", kind: ", kClientConfigKind, ")"));
    }
    if (root->type != YamlNode::Type::kMap) {
      return absl::InvalidArgumentError(
          api::AtPosition(source_, root->line, root->column,
                          absl::StrCat("a client config must be a map of ", kFieldList, ", got ",
                                       root->TypeName())));
    }
    ClientConfig config;
    config.source = std::string(source_);
    if (absl::Status s = ReadFields(*root, config); !s.ok()) return s;
    if (absl::Status s = CheckHeader(*root); !s.ok()) return s;
    if (absl::Status s = CheckPems(config); !s.ok()) return s;
    return config;
  }

 private:
  absl::Status Error(const YamlNode& at, absl::string_view field, absl::string_view message) const {
    return absl::InvalidArgumentError(
        api::AtPosition(source_, at.line, at.column, absl::StrCat(field, ": ", message)));
  }

  absl::Status ReadFields(const YamlNode& root, ClientConfig& config) {
    for (const auto& [key, value] : root.entries) {
      const FieldSpec* spec = nullptr;
      for (const FieldSpec& f : kFields) {
        if (key->value == f.key) spec = &f;
      }
      if (spec == nullptr) {
        return Error(*key, key->value, absl::StrCat("unknown field; want ", kFieldList));
      }
      if (value->type == YamlNode::Type::kNull) continue;  // absent, as in manifests
      if (value->type != YamlNode::Type::kScalar) {
        return Error(*value, spec->key, absl::StrCat("must be a string, got ", value->TypeName()));
      }
      values_[spec->key] = value;
      if (spec->member != nullptr) config.*(spec->member) = value->value;
    }
    return absl::OkStatus();
  }

  absl::Status CheckHeader(const YamlNode& root) const {
    for (const auto& [field, want] :
         {std::pair<absl::string_view, absl::string_view>{"apiVersion", kClientConfigApiVersion},
          {"kind", kClientConfigKind}}) {
      auto it = values_.find(field);
      if (it == values_.end()) return Error(root, field, absl::StrCat("required; want ", want));
      if (it->second->value != want) {
        return Error(*it->second, field,
                     absl::StrCat("want ", want, ", got \"", it->second->value, "\""));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckPems(const ClientConfig& config) const {
    if (!config.certificate_authority.empty()) {
      const YamlNode& at = *values_.at("certificateAuthority");
      if (security::SplitPemCertificates(config.certificate_authority).empty()) {
        return Error(at, "certificateAuthority",
                     "want PEM certificates (-----BEGIN CERTIFICATE-----)");
      }
      if (absl::Status s = security::ParseCertificatePem(config.certificate_authority).status();
          !s.ok()) {
        return Error(at, "certificateAuthority", s.message());
      }
    }
    const bool has_cert = !config.client_certificate.empty();
    const bool has_key = !config.client_key.empty();
    if (has_cert != has_key) {
      return Error(has_cert ? *values_.at("clientCertificate") : *values_.at("clientKey"),
                   has_cert ? "clientKey" : "clientCertificate",
                   has_cert ? "required with clientCertificate" : "required with clientKey");
    }
    if (!has_cert) return absl::OkStatus();
    if (absl::Status s = security::ParseCertificatePem(config.client_certificate).status();
        !s.ok()) {
      return Error(*values_.at("clientCertificate"), "clientCertificate", s.message());
    }
    const YamlNode& key = *values_.at("clientKey");
    if (!absl::StrContains(config.client_key, "PRIVATE KEY-----")) {
      return Error(key, "clientKey", "want a PEM private key (-----BEGIN PRIVATE KEY-----)");
    }
    if (absl::Status s =
            security::CheckKeyMatchesCertificate(config.client_key, config.client_certificate);
        !s.ok()) {
      return Error(key, "clientKey",
                   absl::StrCat("does not belong to clientCertificate (", s.message(), ")"));
    }
    return absl::OkStatus();
  }

  std::string source_;
  std::map<absl::string_view, const YamlNode*> values_;
};

// A double-quoted YAML scalar; addresses hold no control characters.
std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// A literal block ("|"), which keeps a PEM's lines exactly.
std::string Block(absl::string_view key, absl::string_view pem) {
  std::string out = absl::StrCat(key, ": |", absl::EndsWith(pem, "\n") ? "" : "-", "\n");
  absl::ConsumeSuffix(&pem, "\n");
  for (absl::string_view line : absl::StrSplit(pem, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    absl::StrAppend(&out, line.empty() ? "" : "  ", line, "\n");
  }
  return out;
}

}  // namespace

absl::StatusOr<ClientConfig> ParseClientConfig(absl::string_view yaml, absl::string_view source) {
  return Parser(source).Parse(yaml);
}

std::string EncodeClientConfig(const ClientConfig& config) {
  std::string out =
      absl::StrCat("apiVersion: ", kClientConfigApiVersion, "\nkind: ", kClientConfigKind, "\n");
  if (!config.server.empty()) absl::StrAppend(&out, "server: ", Quoted(config.server), "\n");
  if (!config.certificate_authority.empty()) {
    absl::StrAppend(&out, Block("certificateAuthority", config.certificate_authority));
  }
  if (!config.client_certificate.empty()) {
    absl::StrAppend(&out, Block("clientCertificate", config.client_certificate));
  }
  if (!config.client_key.empty()) absl::StrAppend(&out, Block("clientKey", config.client_key));
  return out;
}

absl::StatusOr<std::optional<ClientConfig>> LoadClientConfig(absl::string_view flag_path,
                                                             absl::string_view env_path,
                                                             absl::string_view home) {
  std::string path;
  std::string named;  // how the path was given, for messages
  bool must_exist = true;
  if (!flag_path.empty()) {
    path = std::string(flag_path);
    named = absl::StrCat("--config ", path);
  } else if (!env_path.empty()) {
    path = std::string(env_path);
    named = absl::StrCat("$FERRY_CONFIG=", path);
  } else if (!home.empty()) {
    path = absl::StrCat(home, "/", kDefaultClientConfigPath);
    named = path;
    must_exist = false;
  } else {
    return std::nullopt;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (!must_exist && errno == ENOENT) return std::nullopt;
    return absl::FailedPreconditionError(
        absl::StrCat(named, ": cannot read the client config: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(named, ": the client config is not a regular file"));
  }
  if (static_cast<size_t>(st.st_size) > kMaxConfigBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(named, ": ", st.st_size, " bytes is too big for a client config (limit ",
                     kMaxConfigBytes, ")"));
  }
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  if (file) text << file.rdbuf();
  if (!file || file.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat(named, ": cannot read the client config: ", std::strerror(errno)));
  }
  absl::StatusOr<ClientConfig> config = ParseClientConfig(text.str(), path);
  if (!config.ok()) return config.status();
  config->key_readable_by_others = !config->client_key.empty() && (st.st_mode & 077) != 0;
  return *std::move(config);
}

}  // namespace ferry::cli
