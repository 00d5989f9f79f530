#ifndef FERRY_NODE_AGENT_CLIENT_CERT_RENEWER_H_
#define FERRY_NODE_AGENT_CLIENT_CERT_RENEWER_H_

// Renews the node's certificate before it expires: once 2/3 of its lifetime
// has passed (RenewalTime), a new key is made and its CSR sent with
// SecurityService.Renew over the node's current mTLS identity; the answer
// replaces the files in --state-dir atomically, and the controller client
// picks them up at its next reconnect (StateDirCredentials). A new key per
// renewal, so a key that leaked stops being useful.
//
// The decision is one step (RenewIfDue) with the clock and the RPC
// injected, so tests drive it without sleeping or a server.

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ferry/v1/security.pb.h"
#include "node-agent/client/tls_channel.h"

namespace ferry::agent {

class CertRenewer {
 public:
  using RenewFunction =
      std::function<absl::StatusOr<ferry::v1::CertificateResponse>(const std::string& csr_pem)>;
  using Clock = std::function<absl::Time()>;

  struct Options {
    std::string state_dir;
    std::string node_name;
    // After a failed attempt (controller unreachable, bad answer).
    absl::Duration retry = absl::Minutes(1);
    // Longest single wait in Run, so a suspended machine or a clock step
    // is noticed.
    absl::Duration max_wait = absl::Hours(1);
  };

  struct Step {
    bool renewed = false;
    absl::Status error;  // why this attempt failed; the files are unchanged
    absl::Time next;     // when to call RenewIfDue again
  };

  CertRenewer(Options options, RenewFunction renew, Clock now = absl::Now);

  CertRenewer(const CertRenewer&) = delete;
  CertRenewer& operator=(const CertRenewer&) = delete;

  // Renews if the certificate in the state dir is due. Not due: nothing is
  // called and `next` is its renewal time. Renewed: the files hold the new
  // key and certificate and `next` is their renewal time, but not before
  // now + retry. Failed: `next` is now + retry.
  Step RenewIfDue();

  // Calls RenewIfDue until Stop(), waiting in between.
  void Run();
  void Stop();

 private:
  absl::Status Renew();

  const Options options_;
  const RenewFunction renew_;
  const Clock now_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// SecurityService.Renew over the mTLS identity in `credentials` (read
// afresh for each call), with a 30 s deadline, asking the controller
// replicas in `targets` in order until one is reached (every replica
// serves SecurityService, a follower too).
CertRenewer::RenewFunction RenewOverTls(std::vector<std::string> targets,
                                        StateDirCredentials* credentials);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CLIENT_CERT_RENEWER_H_
