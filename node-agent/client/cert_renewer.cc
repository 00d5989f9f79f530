#include "node-agent/client/cert_renewer.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "api/security/pki.h"
#include "ferry/v1/security.grpc.pb.h"
#include "node-agent/client/controller_targets.h"
#include "node-agent/client/credential_files.h"

namespace ferry::agent {

CertRenewer::CertRenewer(Options options, RenewFunction renew, Clock now)
    : options_(std::move(options)), renew_(std::move(renew)), now_(std::move(now)) {}

CertRenewer::Step CertRenewer::RenewIfDue() {
  Step step;
  const absl::Time now = now_();
  step.next = now + options_.retry;
  absl::StatusOr<NodeCredentials> current = ReadNodeCredentials(options_.state_dir);
  if (!current.ok()) {
    step.error = current.status();
    return step;
  }
  absl::StatusOr<security::CertificateInfo> info = security::ParseCertificatePem(current->cert_pem);
  if (!info.ok()) {
    step.error = info.status();
    return step;
  }
  if (now < RenewalTime(*info)) {
    step.next = RenewalTime(*info);
    return step;
  }
  step.error = Renew();
  if (!step.error.ok()) {
    LogWarning("certificate renewal failed; will retry",
               {{"expires", absl::FormatTime(info->not_after)},
                {"retry_in", absl::FormatDuration(options_.retry)},
                {"error", std::string(step.error.message())}});
    return step;
  }
  step.renewed = true;
  absl::StatusOr<NodeCredentials> renewed = ReadNodeCredentials(options_.state_dir);
  absl::StatusOr<security::CertificateInfo> renewed_info =
      renewed.ok() ? security::ParseCertificatePem(renewed->cert_pem) : renewed.status();
  if (renewed_info.ok()) {
    // Not sooner than a retry: a certificate whose lifetime is short next
    // to the signer's backdating (1 h) is due as soon as it is issued, and
    // must not be renewed in a tight loop.
    step.next = std::max(RenewalTime(*renewed_info), now + options_.retry);
    LogInfo(
        "renewed the node certificate; used from the next connection on",
        {{"serial", renewed_info->serial}, {"expires", absl::FormatTime(renewed_info->not_after)}});
  }
  return step;
}

absl::Status CertRenewer::Renew() {
  NodeCredentials next;
  absl::StatusOr<std::string> key = security::GenerateKeyPem();
  if (!key.ok()) return key.status();
  next.key_pem = *std::move(key);
  absl::StatusOr<std::string> csr = security::MakeCsrPem(next.key_pem, options_.node_name);
  if (!csr.ok()) return csr.status();
  absl::StatusOr<ferry::v1::CertificateResponse> response = renew_(*csr);
  if (!response.ok()) return response.status();
  next.cert_pem = response->certificate_pem();
  next.ca_pem = response->ca_pem();
  // The answer came over a channel verified against the current CA; it is
  // still checked before it replaces a working identity.
  if (absl::Status s = CheckNodeCredentials(next, options_.node_name, now_()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("renewed certificate refused: ", s.message()));
  }
  return StoreNodeCredentials(options_.state_dir, next);
}

void CertRenewer::Run() {
  while (true) {
    const Step step = RenewIfDue();
    const absl::Duration wait = std::clamp(step.next - now_(), absl::Seconds(1), options_.max_wait);
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait)) return;
  }
}

void CertRenewer::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

CertRenewer::RenewFunction RenewOverTls(std::vector<std::string> targets,
                                        StateDirCredentials* credentials) {
  return [targets = std::move(targets), credentials](
             const std::string& csr_pem) -> absl::StatusOr<ferry::v1::CertificateResponse> {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> channel_credentials =
        credentials->Get();
    if (!channel_credentials.ok()) return channel_credentials.status();
    return AskInOrder(
        targets, [&](const std::string& target) -> absl::StatusOr<ferry::v1::CertificateResponse> {
          auto stub = ferry::v1::SecurityService::NewStub(
              grpc::CreateChannel(target, *channel_credentials));
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          ferry::v1::RenewRequest request;
          request.set_csr_pem(csr_pem);
          ferry::v1::CertificateResponse response;
          const grpc::Status status = stub->Renew(&context, request, &response);
          if (!status.ok()) return FromGrpcStatus(status, absl::StrCat("renew via ", target));
          return response;
        });
  };
}

}  // namespace ferry::agent
