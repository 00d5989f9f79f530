#include "api/lib/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace ferry::api {

absl::StatusCode ErrnoCode(int err) {
  if (err < 0) err = -err;
  switch (err) {
    case 0:
      return absl::StatusCode::kOk;
    case EPERM:
    case EACCES:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOENT:
    case ESRCH:
      return absl::StatusCode::kNotFound;
    case EEXIST:
    case EADDRINUSE:
      return absl::StatusCode::kAlreadyExists;
    case EINVAL:
    case ERANGE:
    case E2BIG:
      return absl::StatusCode::kInvalidArgument;
    case ENOBUFS:
    case ENOMEM:
    case EMSGSIZE:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
      return absl::StatusCode::kResourceExhausted;
    case EOPNOTSUPP:
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
      return absl::StatusCode::kUnimplemented;
    case EBUSY:
    case EAGAIN:
    case EINTR:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ETIMEDOUT:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
      return absl::StatusCode::kUnavailable;
    case ENODEV:
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status ErrnoStatus(absl::string_view what, int err) {
  if (err < 0) err = -err;
  if (err == 0) return absl::OkStatus();
  return absl::Status(ErrnoCode(err), absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace ferry::api
