#include "node-agent/kernel/errno_status.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lib/errno_status.h"

namespace ferry::agent {
namespace {

constexpr char kNftModules[] = "nf_tables, nft_chain_nat, nft_nat, nft_masq, nft_ct";

// Errnos with which the kernel refuses an IPv6 object when IPv6 is off:
// EACCES "IPv6 is disabled on nexthop device", EHOSTUNREACH (no IPv6
// address left to reach a gateway), EAFNOSUPPORT (no IPv6 at all), ENOENT
// (no /proc/sys/net/ipv6), EADDRNOTAVAIL, ENETUNREACH, ENODEV, EOPNOTSUPP.
bool MayMeanNoIpv6(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
    case EOPNOTSUPP:
    case EADDRNOTAVAIL:
    case ENOENT:
    case ENODEV:
      return true;
    default:
      return false;
  }
}

const char* ErrnoName(int err) {
  switch (err) {
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EAFNOSUPPORT:
      return "EAFNOSUPPORT";
    case EPROTONOSUPPORT:
      return "EPROTONOSUPPORT";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    default:
      return "errno";
  }
}

// The message for api::ErrnoCode's code: `base` with what to check.
std::string WithHint(int err, const std::string& base) {
  switch (err) {
    case EPERM:
    case EACCES:
      return absl::StrCat(base,
                          " (run as root / with CAP_NET_ADMIN; for IPv6 objects, check that IPv6 "
                          "is not disabled on the device: net.ipv6.conf.<dev>.disable_ipv6)");
    case EAFNOSUPPORT:
    case EOPNOTSUPP:
    case EPROTONOSUPPORT:
      return absl::StrCat("kernel lacks nftables or netlink feature (", ErrnoName(err), ") for ",
                          base, "; check modules ", kNftModules, " and fib rules");
    case ENOBUFS:
    case ENOMEM:
      return absl::StrCat(base, " (netlink socket buffer overrun or kernel out of memory)");
    case EMSGSIZE:
      return absl::StrCat(base, " (message larger than the socket buffer)");
    case ENODEV:
      return absl::StrCat(base, " (gateway not reachable on any interface?)");
    default:
      return base;
  }
}

}  // namespace

Ipv6Support ProbeIpv6Support() {
  const int fd = ::open("/proc/sys/net/ipv6/conf/all/disable_ipv6", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Ipv6Support::kMissing : Ipv6Support::kAvailable;
  char c = '0';
  const ssize_t n = ::read(fd, &c, 1);
  ::close(fd);
  return n == 1 && c == '1' ? Ipv6Support::kDisabled : Ipv6Support::kAvailable;
}

bool NamesIpv6Object(absl::string_view what) {
  if (absl::StrContains(what, "net/ipv6/") || absl::StrContains(what, "net.ipv6.")) return true;
  for (absl::string_view token : absl::StrSplit(what, absl::ByAnyChar(" ,;()[]{}=\"'"))) {
    if (token.find(':') == absl::string_view::npos) continue;
    token = token.substr(0, token.find('/'));  // a prefix length
    const std::string text(token);
    in6_addr addr;
    if (inet_pton(AF_INET6, text.c_str(), &addr) == 1) return true;
  }
  return false;
}

absl::Status ErrnoToStatus(int err, absl::string_view what, bool missing_feature) {
  if (err < 0) err = -err;
  if (err != 0 && MayMeanNoIpv6(err) && NamesIpv6Object(what)) {
    return ErrnoToStatus(err, what, missing_feature, ProbeIpv6Support());
  }
  return ErrnoToStatus(err, what, missing_feature, Ipv6Support::kAvailable);
}

absl::Status ErrnoToStatus(int err, absl::string_view what, bool missing_feature,
                           Ipv6Support ipv6) {
  if (err < 0) err = -err;
  if (err == 0) return absl::OkStatus();
  const std::string base = absl::StrCat(what, ": ", std::strerror(err));
  if (ipv6 != Ipv6Support::kAvailable && MayMeanNoIpv6(err) && NamesIpv6Object(what)) {
    const char* why = ipv6 == Ipv6Support::kDisabled
                          ? "IPv6 is disabled in this network namespace "
                            "(net.ipv6.conf.all.disable_ipv6=1)"
                          : "this kernel has no IPv6 (booted with ipv6.disable=1, or built "
                            "without it)";
    return absl::FailedPreconditionError(
        absl::StrCat("kernel lacks IPv6 support: ", why, "; ", base));
  }
  // Where the kernel layer knows better than api::ErrnoCode's table.
  switch (err) {
    case EAFNOSUPPORT:
      // For an IPv6 object this is the node's kernel without IPv6, which
      // only a change of the node fixes: not an unimplemented call.
      if (NamesIpv6Object(what)) {
        return absl::FailedPreconditionError(
            absl::StrCat("kernel lacks IPv6 support (EAFNOSUPPORT); ", base));
      }
      break;
    case ENOENT:
    case ESRCH:
      // For a chain type or an expression this is a kernel module that is
      // not there, not a missing object.
      if (missing_feature) {
        return absl::FailedPreconditionError(
            absl::StrCat("kernel lacks nftables feature (", ErrnoName(err),
                         ", kernel module missing?) for ", base, "; need ", kNftModules));
      }
      break;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
      // A route's gateway that no interface reaches: api/lib says
      // UNAVAILABLE (worth a retry), but the same push fails again until
      // the node's addresses change, so it is a precondition.
      return absl::FailedPreconditionError(
          absl::StrCat(base, " (gateway not reachable on any interface?)"));
    default:
      break;
  }
  return absl::Status(ferry::api::ErrnoCode(err), WithHint(err, base));
}

}  // namespace ferry::agent
