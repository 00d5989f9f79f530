#include "controller/cli/printers.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api/lib/manifest.h"
#include "controller/cli/events.h"
#include "controller/cli/fields.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {
namespace {

using ferry::v1::Object;

constexpr size_t kAddressesShown = 2;

// Why a forward is not ready: a rejection first, else Ready's reason.
std::string ForwardReason(const ferry::v1::IPForwardStatus& status) {
  const ferry::v1::Condition* accepted =
      FindCondition(status.conditions(), api::kConditionAccepted);
  if (accepted != nullptr && accepted->status() == "False") return accepted->reason();
  const ferry::v1::Condition* ready = FindCondition(status.conditions(), api::kConditionReady);
  return ready != nullptr ? ready->reason() : "";
}

class TablePrinter : public ObjectPrinter {
 public:
  TablePrinter(ferry::v1::ResourceKind kind, absl::Time now, bool wide)
      : kind_(kind), now_(now), wide_(wide) {
    rows_.push_back(TableHeader(kind_, wide_));
  }
  std::string Add(const Object& object) override {
    rows_.push_back(TableRowOf(object, now_, wide_));
    return "";
  }
  std::string Finish() override { return count() == 0 ? "" : FormatTable(rows_); }
  int count() const override { return static_cast<int>(rows_.size()) - 1; }

 private:
  ferry::v1::ResourceKind kind_;
  absl::Time now_;
  bool wide_;
  std::vector<TableRow> rows_;
};

class NamePrinter : public ObjectPrinter {
 public:
  std::string Add(const Object& object) override {
    ++count_;
    return absl::StrCat(ObjectRef(object), "\n");
  }
  std::string Finish() override { return ""; }
  int count() const override { return count_; }

 private:
  int count_ = 0;
};

class YamlPrinter : public ObjectPrinter {
 public:
  std::string Add(const Object& object) override {
    std::string text = count_++ == 0 ? "" : "---\n";
    std::string yaml = api::EncodeYaml(object);
    if (!yaml.empty() && yaml.back() != '\n') yaml.push_back('\n');
    return absl::StrCat(text, yaml);
  }
  std::string Finish() override { return ""; }
  int count() const override { return count_; }

 private:
  int count_ = 0;
};

std::string TrimTrailingNewlines(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

class JsonPrinter : public ObjectPrinter {
 public:
  explicit JsonPrinter(bool as_list) : as_list_(as_list) {}
  std::string Add(const Object& object) override {
    std::string json = TrimTrailingNewlines(api::EncodeJson(object));
    if (!as_list_) {
      ++count_;
      return absl::StrCat(json, "\n");
    }
    // Newlines only occur between JSON tokens, so indenting is safe.
    std::string text = count_++ == 0
                           ? "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n"
                           : ",\n";
    absl::StrAppend(&text, "    ", absl::StrReplaceAll(json, {{"\n", "\n    "}}));
    return text;
  }
  std::string Finish() override {
    if (!as_list_) return "";
    if (count_ == 0)
      return "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": []\n}\n";
    return "\n  ]\n}\n";
  }
  int count() const override { return count_; }

 private:
  bool as_list_;
  int count_ = 0;
};

}  // namespace

TableRow ForwardHeader(bool wide) {
  TableRow header = {"NAME",     "FRONTEND", "BACKEND",  "PORTS",
                     "SOURCEIP", "READY",    "VERIFIED", "AGE"};
  if (wide) {
    header.insert(header.end(), {"ACCEPTED", "DRIFTED", "REASON", "RETURN-VIA", "GENERATION"});
  }
  return header;
}

TableRow ForwardRow(const ferry::v1::IPForward& forward, absl::Time now, bool wide) {
  const ferry::v1::IPForwardSpec& spec = forward.spec();
  const ferry::v1::IPForwardStatus& status = forward.status();
  TableRow row = {forward.metadata().name(),
                  FormatFrontend(spec.frontend()),
                  FormatEndpoint(spec.backend().node_name(), spec.backend().address()),
                  FormatPorts(spec),
                  SourceIPName(spec.source_ip()),
                  ConditionStatus(status.conditions(), api::kConditionReady),
                  ConditionStatus(status.conditions(), api::kConditionDataPathVerified),
                  Age(forward.metadata().creation_timestamp(), now)};
  if (wide) {
    const std::string& return_via =
        status.return_via().empty() ? spec.backend().return_via() : status.return_via();
    row.insert(row.end(), {ConditionStatus(status.conditions(), api::kConditionAccepted),
                           ConditionStatus(status.conditions(), api::kConditionDrifted),
                           OrNone(ForwardReason(status)), OrNone(return_via),
                           absl::StrCat(forward.metadata().generation())});
  }
  return row;
}

TableRow NodeHeader(bool wide) {
  TableRow header = {"NAME", "CONNECTED", "ADDRESSES", "AGE"};
  if (wide) header.insert(header.end(), {"AGENT-VERSION", "CONFIG-VERSION", "LABELS"});
  return header;
}

TableRow NodeRow(const ferry::v1::Node& node, absl::Time now, bool wide) {
  const ferry::v1::NodeStatus& status = node.status();
  TableRow row = {node.metadata().name(),
                  ConditionStatus(status.conditions(), api::kConditionConnected),
                  FormatAddresses(status.addresses(), kAddressesShown),
                  Age(node.metadata().creation_timestamp(), now)};
  if (wide) {
    row.insert(row.end(), {OrNone(status.agent_version()), OrNone(status.applied_config_version()),
                           FormatLabels(node.metadata().labels())});
  }
  return row;
}

TableRow TableHeader(ferry::v1::ResourceKind kind, bool wide) {
  switch (kind) {
    case ferry::v1::NODE:
      return NodeHeader(wide);
    case ferry::v1::EVENT:
      return EventHeader(wide);
    default:
      return ForwardHeader(wide);
  }
}

TableRow TableRowOf(const Object& object, absl::Time now, bool wide) {
  if (object.has_node()) return NodeRow(object.node(), now, wide);
  if (object.has_event()) return EventRow(object.event(), now, wide);
  return ForwardRow(object.ip_forward(), now, wide);
}

std::unique_ptr<ObjectPrinter> MakeObjectPrinter(OutputFormat format, ferry::v1::ResourceKind kind,
                                                 absl::Time now, bool as_list) {
  switch (format) {
    case OutputFormat::kYaml:
      return std::make_unique<YamlPrinter>();
    case OutputFormat::kJson:
      return std::make_unique<JsonPrinter>(as_list);
    case OutputFormat::kName:
      return std::make_unique<NamePrinter>();
    case OutputFormat::kWide:
      return std::make_unique<TablePrinter>(kind, now, /*wide=*/true);
    case OutputFormat::kTable:
      break;
  }
  return std::make_unique<TablePrinter>(kind, now, /*wide=*/false);
}

std::string ApplyResultLine(const ferry::v1::ApplyResult& result, bool dry_run) {
  std::string line =
      absl::StrCat(KindLowerFromName(result.kind()), "/", result.name(), " ", result.outcome());
  if (!dry_run) return line;
  absl::StrAppend(&line, " (dry run)");
  if (!result.has_accepted()) return line;
  const ferry::v1::Condition& accepted = result.accepted();
  if (accepted.status() == "True") return absl::StrCat(line, ": Accepted");
  absl::StrAppend(&line, ": not accepted, ", accepted.reason());
  if (!accepted.message().empty()) absl::StrAppend(&line, ": ", accepted.message());
  return line;
}

std::string PrintObjects(OutputFormat format, ferry::v1::ResourceKind kind,
                         const std::vector<Object>& objects, absl::Time now, bool as_list) {
  std::unique_ptr<ObjectPrinter> printer = MakeObjectPrinter(format, kind, now, as_list);
  std::string out;
  for (const Object& object : objects) absl::StrAppend(&out, printer->Add(object));
  absl::StrAppend(&out, printer->Finish());
  return out;
}

}  // namespace ferry::cli
