#include "controller/cli/events.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {
namespace {

using ferry::v1::Event;
using ferry::v1::Object;

std::tuple<int64_t, int32_t, int64_t, int32_t, const std::string&> SortKey(const Event& e) {
  return {e.last_timestamp().seconds(), e.last_timestamp().nanos(), e.first_timestamp().seconds(),
          e.first_timestamp().nanos(), e.metadata().name()};
}

// kubectl's "10s (x3 over 2m)" for an event seen more than once.
std::string SeenText(const Event& e, absl::Time now) {
  std::string text = Age(e.last_timestamp(), now);
  if (e.count() > 1 && e.has_first_timestamp()) {
    absl::StrAppend(&text, " (x", e.count(), " over ", Age(e.first_timestamp(), now), ")");
  }
  return text;
}

}  // namespace

TableRow EventHeader(bool wide) {
  TableRow header = {"LAST SEEN", "TYPE", "REASON", "OBJECT", "NODE", "COUNT", "MESSAGE"};
  if (wide) header.insert(header.end(), {"FIRST SEEN", "NAME"});
  return header;
}

TableRow EventRow(const Event& event, absl::Time now, bool wide) {
  TableRow row = {Age(event.last_timestamp(), now),
                  OrNone(event.type()),
                  OrNone(event.reason()),
                  InvolvedObjectRef(event),
                  OrNone(event.node()),
                  absl::StrCat(std::max(event.count(), 1)),
                  OrNone(event.message())};
  if (wide) row.insert(row.end(), {Age(event.first_timestamp(), now), event.metadata().name()});
  return row;
}

std::string InvolvedObjectRef(const Event& event) {
  const ferry::v1::ObjectReference& ref = event.involved_object();
  if (ref.kind().empty() && ref.name().empty()) return "<none>";
  return absl::StrCat(absl::AsciiStrToLower(ref.kind()), "/", ref.name());
}

bool EventIsAbout(const Event& event, const EventTarget& target) {
  if (target.kind == ferry::v1::RESOURCE_KIND_UNSPECIFIED) return true;
  const ferry::v1::ObjectReference& ref = event.involved_object();
  return absl::AsciiStrToLower(ref.kind()) == KindLower(target.kind) && ref.name() == target.name;
}

void SortEvents(std::vector<Object>& events) {
  std::stable_sort(events.begin(), events.end(), [](const Object& a, const Object& b) {
    return SortKey(a.event()) < SortKey(b.event());
  });
}

std::vector<Event> RecentEvents(const std::vector<Object>& events, const EventTarget& target,
                                size_t limit) {
  std::vector<Object> matching;
  for (const Object& o : events) {
    if (o.has_event() && EventIsAbout(o.event(), target)) matching.push_back(o);
  }
  SortEvents(matching);
  const size_t skip = matching.size() > limit ? matching.size() - limit : 0;
  std::vector<Event> out;
  for (size_t i = skip; i < matching.size(); ++i) out.push_back(matching[i].event());
  return out;
}

std::string DescribeEvents(const std::vector<Event>& events, absl::Time now) {
  if (events.empty()) return "Events:       <none>\n";
  std::vector<TableRow> rows = {{"TYPE", "REASON", "AGE", "FROM", "MESSAGE"},
                                {"----", "------", "----", "----", "-------"}};
  for (const Event& e : events) {
    rows.push_back({OrNone(e.type()), OrNone(e.reason()), SeenText(e, now), OrNone(e.node()),
                    OrNone(e.message())});
  }
  return absl::StrCat("Events:\n", FormatTable(rows, "  "));
}

}  // namespace ferry::cli
