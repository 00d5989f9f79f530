#include "node-agent/client/pinned_join.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "api/security/join_token.h"
#include "api/security/pki.h"
#include "ferry/v1/security.grpc.pb.h"
#include "node-agent/client/tls_channel.h"

namespace ferry::agent {
namespace {

// Pins are 64 hex digits; errors show a prefix, enough to compare by eye.
std::string ShortPin(absl::string_view pin) { return absl::StrCat(pin.substr(0, 16), "..."); }

// What the verifier last concluded. gRPC reports a failed handshake as a
// bare UNAVAILABLE "handshake failed"; the reason is kept here so the agent
// can say it and knows not to retry.
class PinOutcome {
 public:
  void Record(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (!status.ok()) failure_ = std::move(status);
  }
  absl::Status failure() const {
    absl::MutexLock lock(&mu_);
    return failure_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

// Runs VerifyPinnedChain on the handshake's peer chain, synchronously.
class PinVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  PinVerifier(std::string pin, std::shared_ptr<PinOutcome> outcome)
      : pin_(std::move(pin)), outcome_(std::move(outcome)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    const grpc::string_ref chain = request->peer_cert_full_chain();
    absl::Status status =
        VerifyPinnedChain(absl::string_view(chain.data(), chain.size()), pin_, absl::Now());
    *sync_status = status.ok() ? grpc::Status::OK
                               : grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                              std::string(status.message()));
    outcome_->Record(std::move(status));
    return true;  // done synchronously
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  const std::string pin_;
  const std::shared_ptr<PinOutcome> outcome_;
};

std::shared_ptr<grpc::ChannelCredentials> PinnedCredentials(
    const std::string& pin, const std::shared_ptr<PinOutcome>& outcome) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  // No CA to verify against yet: the pin is the verification, so the
  // default chain and host-name checks are replaced, not added to.
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<PinVerifier>(pin, outcome));
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace

absl::Status VerifyPinnedChain(absl::string_view chain_pem, absl::string_view ca_pin,
                               absl::Time now) {
  const std::vector<std::string> chain = security::SplitPemCertificates(chain_pem);
  if (chain.empty()) {
    return absl::UnauthenticatedError("the controller presented no certificate");
  }
  for (const std::string& cert : chain) {
    absl::StatusOr<std::string> pin = security::SpkiSha256Hex(cert);
    if (!pin.ok() || *pin != ca_pin) continue;
    absl::Status signed_by_pin = security::VerifyCertificate(chain.front(), cert, now);
    if (signed_by_pin.ok()) return absl::OkStatus();
    return absl::UnauthenticatedError(
        absl::StrCat("the controller's certificate is not valid under the CA the join token "
                     "pins (",
                     ShortPin(ca_pin), "): ", signed_by_pin.message()));
  }
  return absl::UnauthenticatedError(
      absl::StrCat("no certificate in the controller's chain (", chain.size(),
                   " sent) has the CA hash the join token pins (", ShortPin(ca_pin),
                   "); is --controller the controller that created the token?"));
}

absl::Status CheckJoinResponse(const NodeCredentials& credentials, absl::string_view ca_pin,
                               absl::string_view node_name, absl::Time now) {
  absl::StatusOr<std::string> pin = security::SpkiSha256Hex(credentials.ca_pem);
  if (!pin.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the controller's join answer has no usable CA: ", pin.status().message()));
  }
  if (*pin != ca_pin) {
    return absl::UnauthenticatedError(absl::StrCat("the controller's join answer names CA ",
                                                   ShortPin(*pin), ", not the one the token pins (",
                                                   ShortPin(ca_pin), ")"));
  }
  return CheckNodeCredentials(credentials, node_name, now);
}

absl::StatusOr<NodeCredentials> JoinController(const JoinOptions& options) {
  absl::StatusOr<security::JoinToken> token = security::ParseJoinToken(options.token);
  if (!token.ok()) return token.status();
  NodeCredentials credentials;
  absl::StatusOr<std::string> key = security::GenerateKeyPem();
  if (!key.ok()) return key.status();
  credentials.key_pem = *std::move(key);
  absl::StatusOr<std::string> csr = security::MakeCsrPem(credentials.key_pem, options.node_name);
  if (!csr.ok()) return csr.status();

  auto outcome = std::make_shared<PinOutcome>();
  auto stub = ferry::v1::SecurityService::NewStub(
      grpc::CreateChannel(options.target, PinnedCredentials(token->ca_pin, outcome)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options.timeout));
  ferry::v1::JoinRequest request;
  request.set_token(options.token);
  request.set_node_name(options.node_name);
  request.set_csr_pem(*std::move(csr));
  ferry::v1::CertificateResponse response;
  const grpc::Status status = stub->Join(&context, request, &response);
  if (absl::Status pin_failure = outcome->failure(); !pin_failure.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "controller at ", options.target, " failed the CA pin check: ", pin_failure.message()));
  }
  if (!status.ok()) return FromGrpcStatus(status, absl::StrCat("join via ", options.target));
  credentials.cert_pem = response.certificate_pem();
  credentials.ca_pem = response.ca_pem();
  if (absl::Status s =
          CheckJoinResponse(credentials, token->ca_pin, options.node_name, absl::Now());
      !s.ok()) {
    return s;
  }
  return credentials;
}

}  // namespace ferry::agent
