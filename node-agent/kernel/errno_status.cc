#include "node-agent/kernel/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace ferry::agent {

absl::Status ErrnoToStatus(int err, absl::string_view what,
                           bool missing_feature) {
  if (err < 0) err = -err;
  const std::string base = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case 0:
      return absl::OkStatus();
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(
          absl::StrCat(base, " (run as root / with CAP_NET_ADMIN)"));
    case EOPNOTSUPP:
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
      return absl::UnimplementedError(
          absl::StrCat(base,
                       " (this kernel lacks the feature; check nf_tables, "
                       "nft_chain_nat, nft_nat, nft_masq, nft_ct, fib rules)"));
    case ENOENT:
    case ESRCH:
      if (missing_feature) {
        return absl::FailedPreconditionError(
            absl::StrCat(base,
                         " (kernel module missing? need nf_tables with "
                         "nft_chain_nat, nft_nat, nft_masq, nft_ct)"));
      }
      return absl::NotFoundError(base);
    case EEXIST:
      return absl::AlreadyExistsError(base);
    case ENOBUFS:
    case ENOMEM:
      return absl::ResourceExhaustedError(absl::StrCat(
          base, " (netlink socket buffer overrun or kernel out of memory)"));
    case EMSGSIZE:
      return absl::ResourceExhaustedError(
          absl::StrCat(base, " (message larger than the socket buffer)"));
    case EINVAL:
    case ERANGE:
    case E2BIG:
      return absl::InvalidArgumentError(base);
    case EBUSY:
    case EAGAIN:
    case EINTR:
      return absl::UnavailableError(base);
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENODEV:
    case ENETDOWN:
      return absl::FailedPreconditionError(
          absl::StrCat(base, " (gateway not reachable on any interface?)"));
    default:
      return absl::InternalError(base);
  }
}

}  // namespace ferry::agent
