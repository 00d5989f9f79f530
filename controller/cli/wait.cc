#include "controller/cli/wait.h"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/cli/fields.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {
namespace {

using ferry::v1::Object;
using ferry::v1::WatchEvent;

// How often "condition met" lines are flushed while many are met at once:
// a flush per line was a write(2) each, 100k of them for `wait --all` of a
// 100k apply (~0.2 s of its tail). The last lines go out when the wait ends.
constexpr absl::Duration kFlushEvery = absl::Milliseconds(50);

// Objects named, with their last state, when a wait times out.
constexpr size_t kReasonsShown = 10;

// One wait: the objects still pending and the revision each was last seen
// at, so events replayed from before that revision are ignored.
class Waiter {
 public:
  Waiter(const Command& command, ResourceClient& client, Io io)
      : command_(command), client_(client), io_(io) {}

  int Run() {
    const int code = Wait();
    io_.out.flush();
    return code;
  }

 private:
  int Wait() {
    const absl::Time deadline = absl::Now() + command_.wait_timeout;
    if (absl::Status s = InitialRead(); !s.ok()) return Fail(s);
    for (int attempt = 0; !pending_.empty() && attempt < kMaxWatchAttempts; ++attempt) {
      if (absl::Now() >= deadline) break;
      absl::Status s = client_.Watch(command_.kind, WatchFrom(), deadline,
                                     [this](const WatchEvent& e) { return OnEvent(e); });
      if (pending_.empty()) break;
      if (absl::IsDeadlineExceeded(s)) break;
      if (absl::IsOutOfRange(s)) {
        // The change log no longer reaches back to our revision: read the
        // objects again and follow changes from now on.
        last_event_revision_.reset();
        watch_from_now_ = true;
        if (absl::Status r = Reread(); !r.ok()) return Fail(r);
        continue;
      }
      if (!s.ok()) return Fail(s);
      // The server ended the stream; resume after a short pause.
      std::this_thread::sleep_for(
          absl::ToChronoMilliseconds(std::min(kRewatchBackoff, deadline - absl::Now())));
    }
    if (pending_.empty()) return kExitOk;
    // Each object still pending, with what it last showed:
    //   timed out waiting for ipforward/web: Ready=False (Pending): waiting for node node-a
    std::vector<std::string> parts;
    for (const auto& [name, revision] : pending_) {
      if (parts.size() == kReasonsShown) {
        parts.push_back(absl::StrCat("and ", pending_.size() - kReasonsShown, " more"));
        break;
      }
      auto seen = last_seen_.find(name);
      parts.push_back(absl::StrCat(ObjectRef(command_.kind, name), ": ",
                                   seen == last_seen_.end() ? "not seen" : seen->second));
    }
    return Fail(absl::DeadlineExceededError(
        absl::StrCat("timed out waiting for ", absl::StrJoin(parts, "; "))));
  }

  // What `object` shows of the awaited condition, for the timeout message.
  std::string Describe(const Object& object) const {
    if (command_.wait_for.for_delete) return "still exists";
    const Conditions& conditions = object.has_node() ? object.node().status().conditions()
                                                     : object.ip_forward().status().conditions();
    const std::string& type = command_.wait_for.condition_type;
    const ferry::v1::Condition* condition = FindCondition(conditions, type);
    if (condition == nullptr) return absl::StrCat("no ", type, " condition yet");
    std::string text = absl::StrCat(type, "=", condition->status());
    if (!condition->reason().empty()) absl::StrAppend(&text, " (", condition->reason(), ")");
    if (!condition->message().empty()) absl::StrAppend(&text, ": ", condition->message());
    const int64_t generation = MetaOf(object).generation();
    if (condition->observed_generation() != 0 && condition->observed_generation() < generation) {
      absl::StrAppend(&text, " [for generation ", condition->observed_generation(),
                      ", the object is at ", generation, "]");
    }
    return text;
  }

  int Fail(const absl::Status& status) { return FailWith(io_.err, status); }

  absl::Status InitialRead() {
    if (command_.all || !command_.label_selector.empty()) {
      // Each object is judged as it streams in: 100k listed objects are
      // never held at once.
      bool any = false;
      std::string listed_at;
      absl::Status s = client_.List(
          command_.kind, command_.label_selector,
          [&](const Object& o) {
            any = true;
            pending_[MetaOf(o).name()] = std::nullopt;
            Observe(o);
          },
          &listed_at);
      if (!s.ok()) return s;
      if (!any) return absl::NotFoundError("no matching resources found");
      // The list is the store at that revision: watching from there misses
      // nothing and replays nothing (from the oldest object's revision it
      // could replay 100k status writes, or fall off the change log).
      last_event_revision_ = ParseRevision(listed_at);
      return absl::OkStatus();
    }
    for (const std::string& name : command_.names) pending_[name] = std::nullopt;
    for (const std::string& name : command_.names) {
      absl::StatusOr<Object> object = client_.Get(command_.kind, name);
      if (absl::IsNotFound(object.status()) && command_.wait_for.for_delete) {
        Met(name);
        continue;
      }
      if (absl::IsNotFound(object.status())) {
        return absl::NotFoundError(NotFoundMessage(command_.kind, name));
      }
      if (!object.ok()) return object.status();
      Observe(*object);
    }
    return absl::OkStatus();
  }

  absl::Status Reread() {
    std::vector<std::string> names;
    for (const auto& [name, revision] : pending_) names.push_back(name);
    for (const std::string& name : names) {
      pending_[name] = std::nullopt;
      absl::StatusOr<Object> object = client_.Get(command_.kind, name);
      if (absl::IsNotFound(object.status())) {
        if (command_.wait_for.for_delete) Met(name);
        continue;
      }
      if (!object.ok()) return object.status();
      Observe(*object);
    }
    return absl::OkStatus();
  }

  // Records the object's state as of its revision; reports it if met.
  void Observe(const Object& object) {
    const std::string& name = MetaOf(object).name();
    auto it = pending_.find(name);
    if (it == pending_.end()) return;
    it->second = ParseRevision(MetaOf(object).resource_version());
    if (!command_.wait_for.for_delete && ConditionMet(object, command_.wait_for)) {
      Met(name);
    } else {
      last_seen_[name] = Describe(object);
    }
  }

  bool OnEvent(const WatchEvent& event) {
    if (std::optional<int64_t> r = ParseRevision(event.resource_version())) {
      last_event_revision_ = std::max(last_event_revision_.value_or(0), *r);
    }
    if (event.type() == WatchEvent::BOOKMARK) return true;
    const std::string& name = MetaOf(event.object()).name();
    auto it = pending_.find(name);
    if (it == pending_.end()) return true;
    std::optional<int64_t> revision = ParseRevision(event.resource_version());
    if (!revision.has_value()) revision = ParseRevision(MetaOf(event.object()).resource_version());
    if (revision.has_value() && it->second.has_value() && *revision <= *it->second) {
      return true;  // replayed from before what we have already seen
    }
    if (event.type() == WatchEvent::DELETED) {
      if (command_.wait_for.for_delete) {
        Met(name);
      } else {
        it->second = revision;
        last_seen_[name] = "deleted";
      }
    } else {
      it->second = revision;
      if (!command_.wait_for.for_delete && ConditionMet(event.object(), command_.wait_for)) {
        Met(name);
      } else {
        last_seen_[name] = Describe(event.object());
      }
    }
    return !pending_.empty();
  }

  void Met(const std::string& name) {
    pending_.erase(name);
    last_seen_.erase(name);
    io_.out << ObjectRef(command_.kind, name) << " condition met\n";
    const absl::Time now = absl::Now();
    if (now - last_flush_ >= kFlushEvery) {
      io_.out.flush();
      last_flush_ = now;
    }
  }

  // Resumes after the last event the stream delivered (streams are in
  // order); before any event, from the oldest revision still pending.
  std::string WatchFrom() const {
    if (last_event_revision_.has_value()) return absl::StrCat(*last_event_revision_);
    if (watch_from_now_) return "";
    std::optional<int64_t> from;
    for (const auto& [name, revision] : pending_) {
      if (revision.has_value()) from = std::min(from.value_or(*revision), *revision);
    }
    return from.has_value() ? absl::StrCat(*from) : "";
  }

  const Command& command_;
  ResourceClient& client_;
  Io io_;
  std::map<std::string, std::optional<int64_t>> pending_;  // name -> last seen revision
  std::map<std::string, std::string> last_seen_;           // name -> Describe() of it
  std::optional<int64_t> last_event_revision_;
  bool watch_from_now_ = false;
  absl::Time last_flush_ = absl::InfinitePast();
};

}  // namespace

bool ConditionMet(const Object& object, const WaitCondition& wait) {
  const Conditions& conditions = object.has_node() ? object.node().status().conditions()
                                                   : object.ip_forward().status().conditions();
  const ferry::v1::Condition* condition = FindCondition(conditions, wait.condition_type);
  if (condition == nullptr || !absl::EqualsIgnoreCase(condition->status(), wait.condition_status)) {
    return false;
  }
  const int64_t generation = MetaOf(object).generation();
  return condition->observed_generation() == 0 || condition->observed_generation() >= generation;
}

int RunWait(const Command& command, ResourceClient& client, Io io) {
  return Waiter(command, client, io).Run();
}

}  // namespace ferry::cli
