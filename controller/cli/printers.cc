#include "controller/cli/printers.h"

#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "api/lib/manifest.h"
#include "controller/cli/events.h"
#include "controller/cli/fields.h"
#include "controller/cli/json.h"
#include "controller/cli/jsonpath.h"
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

// A table: rows are held until Finish, since column widths depend on
// every row; the header is left out with --no-headers.
class RowsPrinter : public ObjectPrinter {
 public:
  RowsPrinter(TableRow header, bool no_headers) : no_headers_(no_headers) {
    rows_.push_back(std::move(header));
  }
  std::string Finish() override {
    if (count() == 0) return "";
    if (!no_headers_) return FormatTable(rows_);
    return FormatTable(std::vector<TableRow>(rows_.begin() + 1, rows_.end()));
  }
  int count() const override { return static_cast<int>(rows_.size()) - 1; }

 protected:
  void AddRow(TableRow row) { rows_.push_back(std::move(row)); }

 private:
  bool no_headers_;
  std::vector<TableRow> rows_;
};

class TablePrinter : public RowsPrinter {
 public:
  TablePrinter(ferry::v1::ResourceKind kind, absl::Time now, const PrintOptions& options)
      : RowsPrinter(TableHeader(kind, options), options.no_headers), now_(now), options_(options) {}
  std::string Add(const Object& object) override {
    AddRow(TableRowOf(object, now_, options_));
    return "";
  }

 private:
  absl::Time now_;
  PrintOptions options_;
};

// -o custom-columns: one column per path, values of several results
// joined by ',', "<none>" when the path selects nothing.
class CustomColumnsPrinter : public RowsPrinter {
 public:
  CustomColumnsPrinter(TableRow header, std::vector<JsonPath> paths, bool no_headers)
      : RowsPrinter(std::move(header), no_headers), paths_(std::move(paths)) {}
  std::string Add(const Object& object) override {
    const JsonValue json = ObjectJson(object);
    TableRow row;
    for (const JsonPath& path : paths_) {
      std::vector<std::string> values;
      for (const JsonValue* v : path.Select(json)) values.push_back(DisplayText(*v));
      row.push_back(values.empty() ? "<none>" : absl::StrJoin(values, ","));
    }
    AddRow(std::move(row));
    return "";
  }

 private:
  std::vector<JsonPath> paths_;
};

JsonValue ListJson(std::vector<JsonValue> items) {
  return JsonValue::Object({{"apiVersion", JsonValue::String("v1")},
                            {"kind", JsonValue::String("List")},
                            {"items", JsonValue::Array(std::move(items))}});
}

// -o jsonpath: a bare object is printed as it comes; a list once whole,
// since the template sees it as one document.
class JsonPathPrinter : public ObjectPrinter {
 public:
  JsonPathPrinter(JsonPathTemplate tmpl, bool as_list)
      : tmpl_(std::move(tmpl)), as_list_(as_list) {}
  std::string Add(const Object& object) override {
    ++count_;
    if (!as_list_) return absl::StrCat(tmpl_.Execute(ObjectJson(object)), "\n");
    items_.push_back(ObjectJson(object));
    return "";
  }
  std::string Finish() override {
    if (!as_list_) return "";
    std::string text = tmpl_.Execute(ListJson(std::move(items_)));
    items_.clear();
    return text.empty() || text.back() == '\n' ? text : absl::StrCat(text, "\n");
  }
  int count() const override { return count_; }

 private:
  JsonPathTemplate tmpl_;
  bool as_list_;
  std::vector<JsonValue> items_;
  int count_ = 0;
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

class JsonPrinter : public ObjectPrinter {
 public:
  explicit JsonPrinter(bool as_list) : as_list_(as_list) {}
  std::string Add(const Object& object) override {
    std::string json = WriteJson(ObjectJson(object));
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
  TableRow header = {"NAME",  "FRONTEND", "BACKEND", "PORTS", "SOURCEIP",
                     "READY", "VERIFIED", "DRIFTED", "AGE"};
  if (wide) header.insert(header.end(), {"ACCEPTED", "REASON", "RETURN-VIA", "GENERATION"});
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
                  ConditionStatus(status.conditions(), api::kConditionDrifted),
                  Age(forward.metadata().creation_timestamp(), now)};
  if (wide) {
    const std::string& return_via =
        status.return_via().empty() ? spec.backend().return_via() : status.return_via();
    row.insert(row.end(), {ConditionStatus(status.conditions(), api::kConditionAccepted),
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

TableRow TableHeader(ferry::v1::ResourceKind kind, const PrintOptions& options) {
  TableRow header = TableHeader(kind, options.format == OutputFormat::kWide);
  if (options.show_labels) header.push_back("LABELS");
  return header;
}

TableRow TableRowOf(const Object& object, absl::Time now, const PrintOptions& options) {
  TableRow row = TableRowOf(object, now, options.format == OutputFormat::kWide);
  if (options.show_labels) row.push_back(FormatLabels(MetaOf(object).labels()));
  return row;
}

PrintOptions PrintOptions::Of(const Command& command) {
  PrintOptions options;
  options.format = command.output;
  options.output_template = command.output_template;
  options.no_headers = command.no_headers;
  options.show_labels = command.show_labels;
  return options;
}

absl::StatusOr<std::unique_ptr<ObjectPrinter>> MakeObjectPrinter(const PrintOptions& options,
                                                                 ferry::v1::ResourceKind kind,
                                                                 absl::Time now, bool as_list) {
  switch (options.format) {
    case OutputFormat::kYaml:
      return std::make_unique<YamlPrinter>();
    case OutputFormat::kJson:
      return std::make_unique<JsonPrinter>(as_list);
    case OutputFormat::kName:
      return std::make_unique<NamePrinter>();
    case OutputFormat::kJsonPath: {
      absl::StatusOr<JsonPathTemplate> tmpl = JsonPathTemplate::Parse(options.output_template);
      if (!tmpl.ok()) return tmpl.status();
      return std::make_unique<JsonPathPrinter>(*std::move(tmpl), as_list);
    }
    case OutputFormat::kCustomColumns: {
      absl::StatusOr<std::vector<CustomColumn>> columns =
          ParseCustomColumns(options.output_template);
      if (!columns.ok()) return columns.status();
      TableRow header;
      std::vector<JsonPath> paths;
      for (const CustomColumn& c : *columns) {
        absl::StatusOr<JsonPath> path = JsonPath::Parse(c.path);
        if (!path.ok()) return path.status();
        header.push_back(c.header);
        paths.push_back(*std::move(path));
      }
      return std::make_unique<CustomColumnsPrinter>(std::move(header), std::move(paths),
                                                    options.no_headers);
    }
    case OutputFormat::kWide:
    case OutputFormat::kTable:
      break;
  }
  return std::make_unique<TablePrinter>(kind, now, options);
}

absl::StatusOr<std::vector<CustomColumn>> ParseCustomColumns(absl::string_view spec) {
  std::vector<absl::string_view> parts;
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i <= spec.size(); ++i) {
    const char c = i < spec.size() ? spec[i] : ',';
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    if (c == '[' || c == '(') ++depth;
    if (c == ']' || c == ')') --depth;
    if (c == ',' && depth <= 0) {
      parts.push_back(spec.substr(start, i - start));
      start = i + 1;
    }
  }
  std::vector<CustomColumn> columns;
  for (absl::string_view part : parts) {
    const size_t colon = part.find(':');
    if (colon == absl::string_view::npos || colon == 0 || colon + 1 == part.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "custom-columns: \"", part,
          "\": want HEADER:PATH, e.g. NAME:.metadata.name (columns separated by ',')"));
    }
    CustomColumn column{std::string(part.substr(0, colon)), std::string(part.substr(colon + 1))};
    if (absl::Status s = JsonPath::Parse(column.path).status(); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("custom-columns: column ", column.header, ": ", s.message()));
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

absl::Status CheckOutputTemplate(OutputFormat format, absl::string_view text) {
  if (format == OutputFormat::kJsonPath) return JsonPathTemplate::Parse(text).status();
  if (format == OutputFormat::kCustomColumns) return ParseCustomColumns(text).status();
  return absl::OkStatus();
}

absl::Status SortObjects(absl::string_view path, std::vector<Object>& objects) {
  absl::StatusOr<JsonPath> parsed = JsonPath::Parse(path);
  if (!parsed.ok()) return parsed.status();
  struct Key {
    std::optional<double> number;
    std::optional<std::string> text;
  };
  std::vector<std::pair<Key, size_t>> keys;
  for (size_t i = 0; i < objects.size(); ++i) {
    const JsonValue json = ObjectJson(objects[i]);
    std::vector<const JsonValue*> found = parsed->Select(json);
    Key key;
    double n;
    if (!found.empty()) {
      if (found[0]->type == JsonValue::Type::kNumber && absl::SimpleAtod(found[0]->text, &n)) {
        key.number = n;
      } else {
        key.text = DisplayText(*found[0]);
      }
    }
    keys.push_back({std::move(key), i});
  }
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    const Key& x = a.first;
    const Key& y = b.first;
    const int rank_x = x.number ? 1 : x.text ? 2 : 0;
    const int rank_y = y.number ? 1 : y.text ? 2 : 0;
    if (rank_x != rank_y) return rank_x < rank_y;
    if (x.number) return *x.number < *y.number;
    if (x.text) return *x.text < *y.text;
    return false;
  });
  std::vector<Object> sorted;
  sorted.reserve(objects.size());
  for (const auto& [key, i] : keys) sorted.push_back(std::move(objects[i]));
  objects = std::move(sorted);
  return absl::OkStatus();
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
  PrintOptions options;
  options.format = format;
  absl::StatusOr<std::unique_ptr<ObjectPrinter>> made =
      MakeObjectPrinter(options, kind, now, as_list);
  if (!made.ok()) return absl::StrCat("error: ", made.status().message(), "\n");
  std::unique_ptr<ObjectPrinter>& printer = *made;
  std::string out;
  for (const Object& object : objects) absl::StrAppend(&out, printer->Add(object));
  absl::StrAppend(&out, printer->Finish());
  return out;
}

}  // namespace ferry::cli
