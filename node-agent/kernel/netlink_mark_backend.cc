#include "node-agent/kernel/netlink_mark_backend.h"

#include <linux/netlink.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "node-agent/kernel/nft_return_marks.h"
#include "node-agent/kernel/nft_structure.h"

namespace ferry::agent {
namespace {

// A dump interrupted by a concurrent ruleset change (or the table going
// away between two dumps) is retried this often.
constexpr int kLoadAttempts = 3;

}  // namespace

absl::StatusOr<std::unique_ptr<NetlinkMarkBackend>> NetlinkMarkBackend::Create() {
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> sock = NetlinkSocket::Open(NETLINK_NETFILTER);
  if (!sock.ok()) return sock.status();
  return std::unique_ptr<NetlinkMarkBackend>(new NetlinkMarkBackend(std::move(*sock)));
}

absl::StatusOr<MarkState> NetlinkMarkBackend::Load() {
  absl::StatusOr<MarkState> state;
  for (int attempt = 0; attempt < kLoadAttempts; ++attempt) {
    state = LoadOnce();
    if (state.ok() || !absl::IsUnavailable(state.status())) break;
  }
  return state;
}

absl::StatusOr<MarkState> NetlinkMarkBackend::LoadOnce() {
  MarkState state;
  absl::Status s = sock_->Request(nft::BuildGetMarkTable(sock_->next_seq()),
                                  [](const nlmsghdr*) { return absl::OkStatus(); });
  if (absl::IsNotFound(s)) return state;
  if (!s.ok()) return s;
  state.table_present = true;
  // The fixed part first: a map that is missing or of other types is
  // reported as structure drift and its elements are not read.
  nft::TableShape shape;
  shape.table = nft::kReturnTableName;
  s = sock_->Request(nft::BuildGetSets(sock_->next_seq(), nft::kReturnTableName),
                     [&shape](const nlmsghdr* nlh) { return nft::ParseSet(nlh, &shape); });
  if (s.ok()) {
    s = sock_->Request(nft::BuildGetChains(sock_->next_seq()),
                       [&shape](const nlmsghdr* nlh) { return nft::ParseChain(nlh, &shape); });
  }
  if (s.ok()) {
    s = sock_->Request(nft::BuildGetRules(sock_->next_seq(), nft::kReturnTableName),
                       [&shape](const nlmsghdr* nlh) { return nft::ParseRule(nlh, &shape); });
  }
  if (s.ok() && nft::SetReadable(shape, nft::ExpectedMarkShape(), nft::kMarksMapName)) {
    s = sock_->Request(nft::BuildGetMarkElements(sock_->next_seq()), [&state](const nlmsghdr* nlh) {
      return nft::ParseMarkElements(nlh, &state.marks);
    });
  }
  // The table vanished between two dumps: read it all again.
  if (absl::IsNotFound(s)) return absl::UnavailableError(s.message());
  if (!s.ok()) return s;
  state.structure_drift = nft::CompareShape(shape, nft::ExpectedMarkShape());
  if (!state.structure_drift.empty()) {
    LogDebug("table inet ferry_return differs from Ferry's structure",
             {{"differences", absl::StrCat(state.structure_drift.size())},
              {"first", state.structure_drift.front().object}});
  }
  return state;
}

absl::Status NetlinkMarkBackend::Apply(const std::map<std::string, uint32_t>& marks) {
  absl::StatusOr<NetlinkBatch> batch = nft::BuildMarkTableBatch(marks, sock_->next_seq());
  if (!batch.ok()) return batch.status();
  if (absl::Status s = sock_->Transact(*batch); !s.ok()) return s;
  LogDebug("applied nftables batch", {{"table", nft::kReturnTableName},
                                      {"messages", absl::StrCat(batch->message_count())},
                                      {"marks", absl::StrCat(marks.size())}});
  return absl::OkStatus();
}

}  // namespace ferry::agent
