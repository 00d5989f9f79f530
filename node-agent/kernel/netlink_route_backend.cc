#include "node-agent/kernel/netlink_route_backend.h"

#include <sys/socket.h>

#include <algorithm>

#include "node-agent/kernel/rtnl_messages.h"

namespace ferry::agent {
namespace {

template <typename T>
void SortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// The desired end state already holds: a rule that exists identically
// (NLM_F_EXCL) or a route/rule that is already gone.
bool AlreadyDone(const absl::Status& s, bool add) {
  return add ? absl::IsAlreadyExists(s) : absl::IsNotFound(s);
}

}  // namespace

absl::StatusOr<std::unique_ptr<NetlinkRouteBackend>> NetlinkRouteBackend::Create(
    const RouteTableOptions& tables) {
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> sock = NetlinkSocket::Open(NETLINK_ROUTE);
  if (!sock.ok()) return sock.status();
  return std::unique_ptr<NetlinkRouteBackend>(new NetlinkRouteBackend(std::move(*sock), tables));
}

absl::StatusOr<RouteState> NetlinkRouteBackend::Load() {
  RouteState state;
  for (int family : {AF_INET, AF_INET6}) {
    absl::Status s = sock_->Request(rtnl::BuildRouteDump(family, sock_->next_seq()),
                                    [this, &state](const nlmsghdr* nlh) {
                                      if (auto route = rtnl::ParseOwnRoute(nlh, tables_))
                                        state.routes.push_back(*route);
                                      return absl::OkStatus();
                                    });
    if (!s.ok()) return s;
    s = sock_->Request(rtnl::BuildRuleDump(family, sock_->next_seq()),
                       [this, &state](const nlmsghdr* nlh) {
                         if (auto rule = rtnl::ParseOwnRule(nlh, tables_)) {
                           state.rules.push_back(*rule);
                         }
                         return absl::OkStatus();
                       });
    if (!s.ok()) return s;
  }
  SortUnique(state.routes);
  SortUnique(state.rules);
  return state;
}

absl::Status NetlinkRouteBackend::Apply(const RoutePlan& plan) {
  auto send = [this](const NetlinkBatch& msg, bool add) {
    absl::Status s = sock_->Transact(msg);
    return AlreadyDone(s, add) ? absl::OkStatus() : s;
  };
  for (const TableRoute& r : plan.routes_add) {
    if (absl::Status s = send(rtnl::BuildRouteMessage(true, r, sock_->next_seq()), true); !s.ok()) {
      return s;
    }
  }
  for (const PolicyRule& r : plan.rules_add) {
    if (absl::Status s = send(rtnl::BuildRuleMessage(true, r, sock_->next_seq()), true); !s.ok()) {
      return s;
    }
  }
  for (const PolicyRule& r : plan.rules_delete) {
    if (absl::Status s = send(rtnl::BuildRuleMessage(false, r, sock_->next_seq()), false);
        !s.ok()) {
      return s;
    }
  }
  for (const TableRoute& r : plan.routes_delete) {
    if (absl::Status s = send(rtnl::BuildRouteMessage(false, r, sock_->next_seq()), false);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::agent
