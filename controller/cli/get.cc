#include "controller/cli/get.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/cli/events.h"
#include "controller/cli/kinds.h"
#include "controller/cli/printers.h"

namespace ferry::cli {
namespace {

using ferry::v1::Object;
using ferry::v1::WatchEvent;

bool IsTable(OutputFormat format) {
  return format == OutputFormat::kTable || format == OutputFormat::kWide;
}

int Fail(Io io, const absl::Status& status) { return FailWith(io.err, status); }

// One `get`: reads the objects, prints them, and with -w follows changes.
class Getter {
 public:
  Getter(const Command& command, ResourceClient& client, Io io)
      : command_(command),
        client_(client),
        io_(io),
        options_(PrintOptions::Of(command)),
        header_(TableHeader(command.kind, options_)),
        widths_(ColumnWidths({header_})) {}

  int Run() {
    if (command_.names.empty() && command_.kind != ferry::v1::EVENT && !command_.watch &&
        command_.sort_by.empty()) {
      return StreamList();
    }
    std::vector<Object> objects;
    if (absl::Status s = Read(objects); !s.ok()) return Fail(io_, s);
    if (command_.kind == ferry::v1::EVENT) SortEvents(objects);
    if (!command_.sort_by.empty()) {
      if (absl::Status s = SortObjects(command_.sort_by, objects); !s.ok()) return Fail(io_, s);
    }
    if (absl::Status s = PrintInitial(objects); !s.ok()) return Fail(io_, s);
    // Like kubectl: the objects found are printed, each missing one is an
    // error, and any missing one fails the command.
    for (const std::string& name : missing_)
      PrintError(io_.err, NotFoundMessage(command_.kind, name));
    if (!missing_.empty()) return kExitFailure;
    if (!command_.watch) return kExitOk;
    for (const Object& o : objects) Remember(o, MetaOf(o).resource_version());
    return Follow();
  }

 private:
  // A plain list prints each object as it arrives (tables buffer rows).
  int StreamList() {
    absl::StatusOr<std::unique_ptr<ObjectPrinter>> printer =
        MakeObjectPrinter(options_, command_.kind, absl::Now(), /*as_list=*/true);
    if (!printer.ok()) return Fail(io_, printer.status());
    printer_ = *std::move(printer);
    absl::Status status =
        client_.List(command_.kind, command_.label_selector,
                     [&](const Object& o) { io_.out << printer_->Add(o) << std::flush; });
    io_.out << printer_->Finish();
    if (!status.ok()) return Fail(io_, status);
    if (printer_->count() == 0 && PrintsTable()) io_.err << "No resources found.\n";
    return kExitOk;
  }

  bool PrintsTable() const {
    return IsTable(command_.output) || command_.output == OutputFormat::kCustomColumns;
  }

  // Events are sorted, and a watched table fixes its layout from the first
  // rows, so both are read whole.
  absl::Status Read(std::vector<Object>& objects) {
    if (!command_.names.empty()) {
      for (const std::string& name : command_.names) {
        absl::StatusOr<Object> object = client_.Get(command_.kind, name);
        if (absl::IsNotFound(object.status())) {
          missing_.push_back(name);
          continue;
        }
        if (!object.ok()) return object.status();
        objects.push_back(*std::move(object));
      }
      return absl::OkStatus();
    }
    return client_.List(command_.kind, command_.label_selector, [&](const Object& o) {
      if (Wanted(o)) objects.push_back(o);
    });
  }

  bool Wanted(const Object& o) const {
    if (!command_.names.empty() && std::find(command_.names.begin(), command_.names.end(),
                                             MetaOf(o).name()) == command_.names.end()) {
      return false;
    }
    return !o.has_event() || EventIsAbout(o.event(), command_.events_for);
  }

  absl::Status PrintInitial(const std::vector<Object>& objects) {
    if (command_.watch && IsTable(command_.output)) {
      std::vector<TableRow> rows = {header_};
      for (const Object& o : objects) rows.push_back(TableRowOf(o, absl::Now(), options_));
      widths_ = ColumnWidths(rows);
      if (command_.no_headers) {
        rows.erase(rows.begin());
        header_printed_ = true;
      }
      if (!objects.empty()) {
        io_.out << FormatTable(rows) << std::flush;
        header_printed_ = true;
      }
      return absl::OkStatus();
    }
    const bool as_list = command_.names.size() != 1 && !command_.watch;
    absl::StatusOr<std::unique_ptr<ObjectPrinter>> printer =
        MakeObjectPrinter(options_, command_.kind, absl::Now(), as_list);
    if (!printer.ok()) return printer.status();
    printer_ = *std::move(printer);
    for (const Object& o : objects) io_.out << printer_->Add(o);
    if (!command_.watch) io_.out << printer_->Finish();
    io_.out << std::flush;
    if (objects.empty() && missing_.empty() && PrintsTable() && !command_.watch) {
      io_.err << "No resources found.\n";
    }
    return absl::OkStatus();
  }

  // Follows the Watch stream from the newest revision read; re-watches when
  // the server ends the stream.
  int Follow() {
    const absl::Time deadline = command_.watch_timeout == absl::InfiniteDuration()
                                    ? absl::InfiniteFuture()
                                    : absl::Now() + command_.watch_timeout;
    for (int attempt = 0; attempt < kMaxWatchAttempts; ++attempt) {
      absl::Status s = client_.Watch(
          command_.kind, WatchFrom(), deadline, [this](const WatchEvent& e) { return OnEvent(e); },
          io_.interrupt);
      if (absl::IsCancelled(s) || (io_.interrupt != nullptr && io_.interrupt->cancelled())) {
        return kExitOk;
      }
      if (absl::IsDeadlineExceeded(s) && absl::Now() >= deadline) return kExitOk;
      if (absl::IsOutOfRange(s)) {
        // The change log no longer reaches back: follow from now on.
        latest_.reset();
        continue;
      }
      if (!s.ok()) return Fail(io_, s);
      if (absl::Now() >= deadline) return kExitOk;
      std::this_thread::sleep_for(
          absl::ToChronoMilliseconds(std::min(kRewatchBackoff, deadline - absl::Now())));
    }
    return Fail(io_, absl::UnavailableError("the watch kept ending; giving up"));
  }

  bool OnEvent(const WatchEvent& event) {
    std::optional<int64_t> revision = ParseRevision(event.resource_version());
    if (revision.has_value()) latest_ = std::max(latest_.value_or(0), *revision);
    if (event.type() == WatchEvent::BOOKMARK || !Wanted(event.object())) return true;
    // A deleted event is expired history, not news.
    if (event.type() == WatchEvent::DELETED && event.object().has_event()) return true;
    const std::string& name = MetaOf(event.object()).name();
    auto seen = seen_.find(name);
    if (revision.has_value() && seen != seen_.end() && seen->second.has_value() &&
        *revision <= *seen->second) {
      return true;  // replayed from before what was printed
    }
    Remember(event.object(), event.resource_version());
    Print(event.object());
    return true;
  }

  void Remember(const Object& o, const std::string& resource_version) {
    std::optional<int64_t> revision = ParseRevision(resource_version);
    seen_[MetaOf(o).name()] = revision;
    if (revision.has_value()) latest_ = std::max(latest_.value_or(0), *revision);
  }

  void Print(const Object& o) {
    if (printer_ != nullptr) {
      io_.out << printer_->Add(o) << std::flush;
      return;
    }
    if (!header_printed_) io_.out << FormatRow(header_, widths_);
    header_printed_ = true;
    io_.out << FormatRow(TableRowOf(o, absl::Now(), options_), widths_) << std::flush;
  }

  // After the newest revision seen; before anything, from now.
  std::string WatchFrom() const { return latest_.has_value() ? absl::StrCat(*latest_) : ""; }

  const Command& command_;
  ResourceClient& client_;
  Io io_;
  PrintOptions options_;  // of command_
  TableRow header_;
  std::vector<size_t> widths_;
  bool header_printed_ = false;
  std::unique_ptr<ObjectPrinter> printer_;              // YAML, JSON and plain get
  std::map<std::string, std::optional<int64_t>> seen_;  // name -> revision printed
  std::vector<std::string> missing_;                    // names asked for and not found
  std::optional<int64_t> latest_;
};

}  // namespace

int RunGet(const Command& command, ResourceClient& client, Io io) {
  return Getter(command, client, io).Run();
}

}  // namespace ferry::cli
