#ifndef FERRY_CONTROLLER_SERVER_UNIX_LISTENER_H_
#define FERRY_CONTROLLER_SERVER_UNIX_LISTENER_H_

// The controller's unix socket, accepted by Ferry rather than by gRPC so
// that each connection's peer uid can be read (SO_PEERCRED) before the
// connection is handed to the server (grpc::AddInsecureChannelFromFd, whose
// calls then report the peer "fd:N").
//
// Safety of the path: the socket appears already 0660 (it is bound under a
// temporary name, chmod'ed, then renamed into place), a path where a live
// server answers is refused rather than taken over, and on Stop only the
// inode this listener bound is unlinked, so a second controller given the
// same path never removes the first one's socket.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace ferry::controller {

class UnixListener {
 public:
  // Binds and listens. FAILED_PRECONDITION if a server answers on `path`
  // or it is not a socket; a dead server's socket is replaced.
  static absl::StatusOr<std::unique_ptr<UnixListener>> Open(const std::string& path);
  ~UnixListener();

  // Starts accepting into `server` (already started).
  void Start(grpc::Server* server);
  // Stops accepting and unlinks the socket if it is still ours.
  void Stop();

  // The uid of a connection any UnixListener accepted, by gRPC's peer
  // string. Descriptor numbers are process-wide, so is this table.
  static std::optional<uid_t> PeerUid(absl::string_view peer);
  uid_t owner() const { return owner_; }
  const std::string& path() const { return path_; }

 private:
  UnixListener(std::string path, int fd, dev_t dev, ino_t ino);
  void AcceptLoop(grpc::Server* server);

  const std::string path_;
  const int fd_;
  const dev_t dev_;
  const ino_t ino_;
  const uid_t owner_;
  int stop_fd_ = -1;  // eventfd: wakes the accept loop on Stop
  std::thread thread_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_UNIX_LISTENER_H_
