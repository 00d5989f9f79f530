#ifndef FERRY_CONTROLLER_CLI_EVENTS_H_
#define FERRY_CONTROLLER_CLI_EVENTS_H_

// Events as ferryctl shows them: the `get events` table, the --for filter,
// and the recent events `describe` lists under an object.

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/cli/table.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

// How many events `describe` shows for one object (the newest).
inline constexpr size_t kDescribeEventLimit = 10;

// The object an event is about, as given to --for forward/NAME.
struct EventTarget {
  ferry::v1::ResourceKind kind = ferry::v1::RESOURCE_KIND_UNSPECIFIED;  // unspecified: any
  std::string name;
};

// LAST SEEN TYPE REASON OBJECT NODE COUNT MESSAGE [wide: FIRST SEEN NAME]
TableRow EventHeader(bool wide);
TableRow EventRow(const ferry::v1::Event& event, absl::Time now, bool wide);

// "ipforward/web" for involvedObject {kind: IPForward, name: web}.
std::string InvolvedObjectRef(const ferry::v1::Event& event);

// True when `target` is unset or the event's involvedObject is it.
bool EventIsAbout(const ferry::v1::Event& event, const EventTarget& target);

// Oldest first, by last timestamp (then first timestamp, then name), as
// kubectl sorts events so the newest end up next to the prompt.
void SortEvents(std::vector<ferry::v1::Object>& events);

// The newest `limit` events about `target` from `events` (any order), oldest
// first.
std::vector<ferry::v1::Event> RecentEvents(const std::vector<ferry::v1::Object>& events,
                                           const EventTarget& target,
                                           size_t limit = kDescribeEventLimit);

// describe's "Events:" section: a TYPE REASON AGE FROM MESSAGE table, or
// "<none>".
std::string DescribeEvents(const std::vector<ferry::v1::Event>& events, absl::Time now);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_EVENTS_H_
