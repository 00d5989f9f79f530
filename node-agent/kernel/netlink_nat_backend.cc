#include "node-agent/kernel/netlink_nat_backend.h"

#include <linux/netlink.h>

#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "node-agent/kernel/nft_messages.h"
#include "node-agent/kernel/nft_structure.h"

namespace ferry::agent {
namespace {

// A dump interrupted by a concurrent ruleset change is retried this often.
constexpr int kLoadAttempts = 3;
// Extra element dumps when one came back short (see LoadOnce).
constexpr int kResizeRereads = 2;

}  // namespace

NatPlan WithReplaceDeletes(const NatPlan& plan, const NatState& kernel) {
  NatPlan out = plan;
  if (plan.create_table) return out;  // the table is rebuilt empty
  std::set<DnatKey> dnat_deleted(plan.dnat_delete.begin(), plan.dnat_delete.end());
  for (const auto& [key, target] : plan.dnat_add) {
    auto it = kernel.dnat.find(key);
    if (it != kernel.dnat.end() && !(it->second == target) && dnat_deleted.insert(key).second) {
      out.dnat_delete.push_back(key);
    }
  }
  std::set<MasqKey> masq_deleted(plan.masq_delete.begin(), plan.masq_delete.end());
  for (const auto& [key, comment] : plan.masq_add) {
    auto it = kernel.masq.find(key);
    if (it != kernel.masq.end() && it->second != comment && masq_deleted.insert(key).second) {
      out.masq_delete.push_back(key);
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<NetlinkNatBackend>> NetlinkNatBackend::Create() {
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> sock = NetlinkSocket::Open(NETLINK_NETFILTER);
  if (!sock.ok()) return sock.status();
  return std::unique_ptr<NetlinkNatBackend>(new NetlinkNatBackend(std::move(*sock)));
}

absl::StatusOr<NatState> NetlinkNatBackend::Load() {
  absl::StatusOr<NatState> state;
  for (int attempt = 0; attempt < kLoadAttempts; ++attempt) {
    state = LoadOnce();
    if (state.ok() || !absl::IsUnavailable(state.status())) break;
  }
  if (state.ok()) kernel_ = *state;
  return state;
}

absl::StatusOr<NatState> NetlinkNatBackend::LoadOnce() {
  NatState state;
  absl::Status s = sock_->Request(nft::BuildGetTable(sock_->next_seq()),
                                  [](const nlmsghdr*) { return absl::OkStatus(); });
  if (absl::IsNotFound(s)) return state;
  if (!s.ok()) return s;
  state.table_present = true;
  // The fixed part first (a few small messages): a set that is missing or
  // of other types is reported as structure drift and its elements are
  // not read, since they could not be Ferry's.
  nft::TableShape shape;
  s = sock_->Request(nft::BuildGetSets(sock_->next_seq()),
                     [&shape](const nlmsghdr* nlh) { return nft::ParseSet(nlh, &shape); });
  if (s.ok()) {
    s = sock_->Request(nft::BuildGetChains(sock_->next_seq()),
                       [&shape](const nlmsghdr* nlh) { return nft::ParseChain(nlh, &shape); });
  }
  if (s.ok()) {
    s = sock_->Request(nft::BuildGetRules(sock_->next_seq()),
                       [&shape](const nlmsghdr* nlh) { return nft::ParseRule(nlh, &shape); });
  }
  // The table vanished between two dumps: read it all again.
  if (absl::IsNotFound(s)) return absl::UnavailableError(s.message());
  if (!s.ok()) return s;
  state.structure_drift = nft::CompareShape(shape);
  if (s = DumpElements(shape, &state); !s.ok()) return s;
  // A set dump can miss elements while the kernel resizes the set's hash
  // table, which a deferred worker does right after large changes: the walk
  // restarts and skips by count, and no generation changes, so the dump is
  // not flagged as interrupted. Seen at 100k elements: ~1,000 of them
  // missing, which a check would report as drift (and "repair"). So when a
  // dump holds fewer elements than this backend last wrote, read again and
  // take the union: a walk never invents elements, and a real deletion in
  // between is announced by an event that triggers the next check.
  for (int again = 0;
       again < kResizeRereads && kernel_.has_value() &&
       (state.dnat.size() < kernel_->dnat.size() || state.masq.size() < kernel_->masq.size());
       ++again) {
    NatState more;
    if (s = DumpElements(shape, &more); !s.ok()) return s;
    state.dnat.merge(more.dnat);
    state.masq.merge(more.masq);
  }
  if (!state.structure_drift.empty()) {
    LogDebug("table inet ferry differs from Ferry's structure",
             {{"differences", absl::StrCat(state.structure_drift.size())},
              {"first", state.structure_drift.front().object}});
  }
  return state;
}

absl::Status NetlinkNatBackend::DumpElements(const nft::TableShape& shape, NatState* state) {
  for (nft::NatSet set : nft::kAllSets) {
    if (!nft::SetReadable(shape, nft::SetName(set))) continue;
    absl::Status s =
        sock_->Request(nft::BuildGetSetElements(set, sock_->next_seq()),
                       [state](const nlmsghdr* nlh) { return nft::ParseSetElements(nlh, state); });
    if (absl::IsNotFound(s)) return absl::UnavailableError(s.message());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status NetlinkNatBackend::Apply(const NatPlan& plan) {
  if (plan.empty()) return absl::OkStatus();
  if (!kernel_.has_value()) {
    if (absl::StatusOr<NatState> loaded = Load(); !loaded.ok()) {
      return loaded.status();
    }
  }
  // Most plans replace nothing (and a new table never does): send the plan
  // itself, copying it (100k elements at a cold sync) only to add deletes.
  auto replaces = [&] {
    if (plan.create_table) return false;
    for (const auto& [key, target] : plan.dnat_add) {
      auto it = kernel_->dnat.find(key);
      if (it != kernel_->dnat.end() && !(it->second == target)) return true;
    }
    for (const auto& [key, comment] : plan.masq_add) {
      auto it = kernel_->masq.find(key);
      if (it != kernel_->masq.end() && it->second != comment) return true;
    }
    return false;
  };
  std::optional<NatPlan> with_deletes;
  if (replaces()) with_deletes = WithReplaceDeletes(plan, *kernel_);
  const NatPlan& full = with_deletes.has_value() ? *with_deletes : plan;
  absl::StatusOr<NetlinkBatch> batch = nft::BuildNatBatch(full, sock_->next_seq());
  if (!batch.ok()) return batch.status();
  absl::Status s = sock_->Transact(*batch);
  if (!s.ok()) {
    kernel_.reset();  // maybe out of date: reload before the next Apply
    return s;
  }
  Remember(full);
  LogDebug("applied nftables batch", {{"messages", absl::StrCat(batch->message_count())},
                                      {"bytes", absl::StrCat(batch->size())},
                                      {"create_table", plan.create_table ? "true" : "false"},
                                      {"dnat_add", absl::StrCat(plan.dnat_add.size())},
                                      {"dnat_delete", absl::StrCat(plan.dnat_delete.size())},
                                      {"masq_add", absl::StrCat(plan.masq_add.size())},
                                      {"masq_delete", absl::StrCat(plan.masq_delete.size())}});
  return absl::OkStatus();
}

void NetlinkNatBackend::Remember(const NatPlan& plan) {
  NatState& k = *kernel_;
  if (plan.create_table) k = NatState{};
  k.table_present = k.table_present || plan.create_table;
  if (!plan.create_table) {
    for (const DnatKey& key : plan.dnat_delete) k.dnat.erase(key);
    for (const MasqKey& key : plan.masq_delete) k.masq.erase(key);
  }
  // Adds come in key order (DiffNat walks ordered maps): appending behind
  // the last key skips the tree search, which matters at a cold sync.
  for (const auto& [key, target] : plan.dnat_add) {
    if (k.dnat.empty() || k.dnat.rbegin()->first < key) {
      k.dnat.emplace_hint(k.dnat.end(), key, target);
    } else {
      k.dnat.insert_or_assign(key, target);
    }
  }
  for (const auto& [key, comment] : plan.masq_add) {
    if (k.masq.empty() || k.masq.rbegin()->first < key) {
      k.masq.emplace_hint(k.masq.end(), key, comment);
    } else {
      k.masq.insert_or_assign(key, comment);
    }
  }
}

}  // namespace ferry::agent
