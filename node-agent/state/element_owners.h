#ifndef FERRY_NODE_AGENT_STATE_ELEMENT_OWNERS_H_
#define FERRY_NODE_AGENT_STATE_ELEMENT_OWNERS_H_

// Who owns each NAT element: the one rule, for a config built whole and for
// a change to a few forwards alike. Several forwards may ask for one
// element (one backend port masqueraded for many frontends), but only
// identically: a forward asking for a DNAT element another holds with
// another target is refused, naming the holder. The element's comment
// names the smallest of its forwards, so the result does not depend on
// entry order (an incremental push must reach the state a full one does),
// and the others are its sharers: the element outlives the forward that
// names it while a sharer still asks for it. Pure: no kernel access.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// Per element, the forwards besides the one its comment names, sorted.
struct Sharers {
  std::map<DnatKey, std::vector<std::string>> dnat;
  std::map<MasqKey, std::vector<std::string>> masq;
};

// The comment stored with each kernel element, so `nft list` names the owner.
std::string ForwardComment(absl::string_view forward);
// The forward named by a ForwardComment, or "" for any other comment.
std::string ForwardOfComment(absl::string_view comment);

class ElementOwners {
 public:
  // Claims and releases change `nat` and `sharers` directly (a config
  // built whole).
  ElementOwners(NatState* nat, Sharers* sharers);
  // Leaves `base` and `base_sharers` as they are: each element is copied
  // into `nat` and `sharers` when first touched, so those end up holding
  // the touched elements only, as they become (a change planned before it
  // is applied).
  ElementOwners(NatState* nat, Sharers* sharers, const NatState* base, const Sharers* base_sharers);

  // The forward of `comment` (its ForwardComment) asks for DNAT element
  // `key` -> addr:port, for entry dnat[`index`] of a push. Refused with
  // INVALID_ARGUMENT `forward "b": dnat[3].port: 203.0.113.1 port 80 is
  // already forwarded by ipforward/a` while another holds it otherwise.
  absl::Status ClaimDnat(const DnatKey& key, const IpAddress& addr, uint16_t port,
                         const std::string& comment, const ferry::v1::DnatRule& rule, int index);
  void ClaimMasq(const MasqKey& key, const std::string& comment);

  // `forward` no longer asks for the element: the smallest sharer takes it
  // over, or, with none left, it is no longer wanted.
  void ReleaseDnat(const DnatKey& key, const std::string& forward);
  void ReleaseMasq(const MasqKey& key, const std::string& forward);

  // Every element touched so far (with a base; empty otherwise). Those not
  // in `nat` are no longer wanted.
  const std::set<DnatKey>& touched_dnat() const { return touched_dnat_; }
  const std::set<MasqKey>& touched_masq() const { return touched_masq_; }

 private:
  void Touch(const DnatKey& key);
  void Touch(const MasqKey& key);

  NatState* const nat_;
  Sharers* const sharers_;
  const NatState* const base_ = nullptr;
  const Sharers* const base_sharers_ = nullptr;
  std::set<DnatKey> touched_dnat_;
  std::set<MasqKey> touched_masq_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_ELEMENT_OWNERS_H_
