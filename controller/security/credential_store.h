#ifndef FERRY_CONTROLLER_SECURITY_CREDENTIAL_STORE_H_
#define FERRY_CONTROLLER_SECURITY_CREDENTIAL_STORE_H_

// Join tokens and issued certificates, kept in the controller's store next
// to the resources (kinds "JoinToken" and "Certificate"), so they share its
// durability and its atomic, precondition-checked commits. A token is used
// by committing `used = true` with the record's revision as precondition:
// of two joins racing on one token, exactly one commit succeeds.
//
// Revoked serials are also held in memory: every authenticated call checks
// one, and a lookup must not cost a store read.

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/security/join_token.h"
#include "controller/store/store.h"
#include "ferry/v1/security.pb.h"

namespace ferry::controller {

inline constexpr char kKindJoinToken[] = "JoinToken";
inline constexpr char kKindCertificate[] = "Certificate";

class CredentialStore {
 public:
  using Clock = std::function<absl::Time()>;

  // Loads the revoked serials. `store` must outlive this.
  static absl::StatusOr<std::unique_ptr<CredentialStore>> Open(Store* store,
                                                               Clock clock = absl::Now);

  // A new one-time token for `node_name`, valid for `ttl`.
  absl::StatusOr<security::JoinToken> CreateToken(const std::string& node_name, absl::Duration ttl,
                                                  const std::string& created_by,
                                                  const std::string& ca_pin);

  // Marks the token used if it is valid for `node_name`. UNAUTHENTICATED
  // saying why otherwise (unknown, wrong secret, used, expired, issued for
  // another node); then nothing changes. Never echoes the secret.
  absl::Status UseToken(const security::JoinToken& token, const std::string& node_name);

  absl::Status RecordCertificate(const ferry::v1::CertificateRecord& record);

  // Marks every unrevoked certificate of `subject` (of `role`, when not
  // empty) revoked; returns how many.
  absl::StatusOr<int> Revoke(const std::string& subject, const std::string& role);

  bool IsRevoked(const std::string& serial) const;

 private:
  CredentialStore(Store* store, Clock clock) : store_(store), clock_(std::move(clock)) {}

  Store* const store_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> revoked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SECURITY_CREDENTIAL_STORE_H_
