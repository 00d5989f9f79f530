#include "node-agent/state/element_owners.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::agent {
namespace {

constexpr absl::string_view kCommentPrefix = "ipforward/";

std::string& CommentOf(DnatTarget& target) { return target.comment; }
std::string& CommentOf(std::string& comment) { return comment; }

// Keeps the smallest forward in `owner` (a comment) and the others in
// `sharers`.
template <typename K>
void Share(const K& key, const std::string& comment, std::string& owner,
           std::map<K, std::vector<std::string>>& sharers) {
  if (comment == owner) return;
  std::string other = comment;
  if (comment < owner) std::swap(other, owner);
  // Kept sorted, so 100k forwards sharing one key (one backend behind many
  // frontends) cost O(log n) each instead of a scan: the scan made a cold
  // sync of such a config take 30 s.
  std::vector<std::string>& list = sharers[key];
  std::string name = ForwardOfComment(other);
  auto at = !list.empty() && list.back() < name ? list.end()
                                                : std::lower_bound(list.begin(), list.end(), name);
  if (at == list.end() || *at != name) list.insert(at, std::move(name));
}

template <typename K, typename V>
void Release(const K& key, const std::string& forward, std::map<K, V>& elements,
             std::map<K, std::vector<std::string>>& sharers) {
  auto element = elements.find(key);
  if (element == elements.end()) return;
  auto list = sharers.find(key);
  if (ForwardOfComment(CommentOf(element->second)) == forward) {
    if (list == sharers.end()) {
      elements.erase(element);
      return;
    }
    CommentOf(element->second) = ForwardComment(list->second.front());
    list->second.erase(list->second.begin());
  } else if (list != sharers.end()) {
    auto at = std::lower_bound(list->second.begin(), list->second.end(), forward);
    if (at != list->second.end() && *at == forward) list->second.erase(at);
  }
  if (list != sharers.end() && list->second.empty()) sharers.erase(list);
}

// Copies `key`'s element and sharers from the base on first touch.
template <typename K, typename V>
void CopyOnce(const K& key, std::set<K>& touched, const std::map<K, V>& base,
              const std::map<K, std::vector<std::string>>& base_sharers, std::map<K, V>& elements,
              std::map<K, std::vector<std::string>>& sharers) {
  if (!touched.insert(key).second) return;
  if (auto it = base.find(key); it != base.end()) elements.insert_or_assign(key, it->second);
  if (auto it = base_sharers.find(key); it != base_sharers.end()) {
    sharers.insert_or_assign(key, it->second);
  }
}

}  // namespace

std::string ForwardComment(absl::string_view forward) {
  return absl::StrCat(kCommentPrefix, forward);
}

std::string ForwardOfComment(absl::string_view comment) {
  if (comment.substr(0, kCommentPrefix.size()) != kCommentPrefix) return "";
  return std::string(comment.substr(kCommentPrefix.size()));
}

ElementOwners::ElementOwners(NatState* nat, Sharers* sharers) : nat_(nat), sharers_(sharers) {}

ElementOwners::ElementOwners(NatState* nat, Sharers* sharers, const NatState* base,
                             const Sharers* base_sharers)
    : nat_(nat), sharers_(sharers), base_(base), base_sharers_(base_sharers) {}

void ElementOwners::Touch(const DnatKey& key) {
  if (base_ != nullptr) {
    CopyOnce(key, touched_dnat_, base_->dnat, base_sharers_->dnat, nat_->dnat, sharers_->dnat);
  }
}

void ElementOwners::Touch(const MasqKey& key) {
  if (base_ != nullptr) {
    CopyOnce(key, touched_masq_, base_->masq, base_sharers_->masq, nat_->masq, sharers_->masq);
  }
}

absl::Status ElementOwners::ClaimDnat(const DnatKey& key, const IpAddress& addr, uint16_t port,
                                      const std::string& comment, const ferry::v1::DnatRule& rule,
                                      int index) {
  Touch(key);
  std::map<DnatKey, DnatTarget>& dnat = nat_->dnat;
  // Planned entries are sorted by forward, and keys often ascend with
  // them: appending behind the last key skips the tree search.
  auto it = !dnat.empty() && dnat.rbegin()->first < key ? dnat.end() : dnat.lower_bound(key);
  if (it == dnat.end() || it->first != key) {
    dnat.emplace_hint(it, key, DnatTarget{addr, port, comment});
    return absl::OkStatus();
  }
  if (it->second.addr != addr || it->second.port != port) {
    return absl::InvalidArgumentError(absl::StrCat(
        "forward \"", rule.forward(), "\": dnat[", index, "].port: ", rule.frontend_address(),
        " port ", key.port, " is already forwarded by ", it->second.comment));
  }
  Share(key, comment, it->second.comment, sharers_->dnat);
  return absl::OkStatus();
}

void ElementOwners::ClaimMasq(const MasqKey& key, const std::string& comment) {
  Touch(key);
  auto [it, inserted] = nat_->masq.emplace(key, comment);
  if (!inserted) Share(key, comment, it->second, sharers_->masq);
}

void ElementOwners::ReleaseDnat(const DnatKey& key, const std::string& forward) {
  Touch(key);
  Release(key, forward, nat_->dnat, sharers_->dnat);
}

void ElementOwners::ReleaseMasq(const MasqKey& key, const std::string& forward) {
  Touch(key);
  Release(key, forward, nat_->masq, sharers_->masq);
}

}  // namespace ferry::agent
