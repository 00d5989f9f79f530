#include "node-agent/client/controller_targets.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ferry::agent {

absl::Status ValidateControllerTarget(absl::string_view target) {
  if (absl::StartsWith(target, "unix:")) {
    absl::string_view path = target.substr(5);
    if (!absl::StartsWith(path, "/")) {
      return absl::InvalidArgumentError(
          absl::StrCat("--controller: \"", target,
                       "\" must name an absolute socket path, e.g. unix:/run/ferry.sock"));
    }
    return absl::OkStatus();
  }
  absl::string_view hostport = target;
  if (absl::StartsWith(hostport, "dns:///")) hostport.remove_prefix(7);
  size_t colon = hostport.rfind(':');
  uint32_t port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(hostport.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--controller: \"", target, "\" must be host:port (port 1..65535) or unix:/path"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ParseControllerTargets(absl::string_view text) {
  if (absl::StartsWith(text, "unix:")) {
    if (absl::Status s = ValidateControllerTarget(text); !s.ok()) return s;
    return std::vector<std::string>{std::string(text)};
  }
  std::vector<std::string> targets;
  for (absl::string_view entry : absl::StrSplit(text, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--controller: \"", text, "\" has an empty entry; separate host:port entries by commas"));
    }
    if (absl::StartsWith(entry, "unix:")) {
      return absl::InvalidArgumentError(
          absl::StrCat("--controller: \"", entry,
                       "\" cannot be listed with other addresses: give one unix:/path, or "
                       "host:port entries"));
    }
    if (absl::Status s = ValidateControllerTarget(entry); !s.ok()) return s;
    targets.emplace_back(entry);
  }
  return targets;
}

bool IsUnreached(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

ControllerTargets::ControllerTargets(std::vector<std::string> targets)
    : targets_(std::move(targets)), current_(targets_.empty() ? "" : targets_.front()) {}

bool ControllerTargets::Listed(absl::string_view target) const {
  return std::find(targets_.begin(), targets_.end(), target) != targets_.end();
}

ControllerTargets::Move ControllerTargets::Ended(bool established, absl::string_view leader) {
  if (established) redirects_ = 0;
  Move move;
  move.from = current_;
  if (!leader.empty()) {
    if (absl::StartsWith(current_, "unix:")) {
      move.ignored = "a unix: controller's leader is not followed";
    } else if (absl::StartsWith(leader, "unix:") || !ValidateControllerTarget(leader).ok()) {
      move.ignored = absl::StrCat("\"", leader, "\" is not host:port");
    } else {
      ++redirects_;
      current_ = std::string(leader);
      if (auto it = std::find(targets_.begin(), targets_.end(), current_); it != targets_.end()) {
        cursor_ = static_cast<size_t>(it - targets_.begin());
      }
      move.to = current_;
      move.redirect = true;
      move.wait = redirects_ > kMaxImmediateRedirects;
      return move;
    }
  }
  if (!targets_.empty()) {
    cursor_ = (cursor_ + 1) % targets_.size();
    current_ = targets_[cursor_];
  }
  move.to = current_;
  return move;
}

}  // namespace ferry::agent
