#include "controller/security/credential_store.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/lib/timestamps.h"

namespace ferry::controller {
namespace {

constexpr int kMaxUseAttempts = 3;

absl::Status Refused(absl::string_view id, absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("join token ", id, ": ", why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CredentialStore>> CredentialStore::Open(Store* store, Clock clock) {
  std::unique_ptr<CredentialStore> out(new CredentialStore(store, std::move(clock)));
  absl::flat_hash_set<std::string> revoked;
  absl::StatusOr<int64_t> listed = store->List(kKindCertificate, [&](const StoredObject& stored) {
    ferry::v1::CertificateRecord record;
    if (record.ParseFromString(stored.value) && record.revoked()) revoked.insert(record.serial());
    return true;
  });
  if (!listed.ok()) return listed.status();
  absl::MutexLock lock(&out->mu_);
  out->revoked_ = std::move(revoked);
  return out;
}

absl::StatusOr<security::JoinToken> CredentialStore::CreateToken(const std::string& node_name,
                                                                 absl::Duration ttl,
                                                                 const std::string& created_by,
                                                                 const std::string& ca_pin) {
  absl::StatusOr<security::JoinToken> token = security::NewJoinToken(ca_pin);
  if (!token.ok()) return token.status();
  ferry::v1::JoinTokenRecord record;
  record.set_id(token->id);
  record.set_secret_sha256(security::HashSecret(token->secret));
  record.set_node_name(node_name);
  const absl::Time now = clock_();
  *record.mutable_expires() = api::ToTimestamp(now + ttl);
  *record.mutable_created() = api::ToTimestamp(now);
  record.set_created_by(created_by);
  WriteOp op;
  op.kind = kKindJoinToken;
  op.name = token->id;
  op.value = record.SerializeAsString();
  op.expected_revision = WriteOp::kMustNotExist;
  if (absl::StatusOr<int64_t> committed = store_->Commit({op}); !committed.ok()) {
    return committed.status();
  }
  return token;
}

absl::Status CredentialStore::UseToken(const security::JoinToken& token,
                                       const std::string& node_name) {
  for (int attempt = 0; attempt < kMaxUseAttempts; ++attempt) {
    absl::StatusOr<StoredObject> stored = store_->Get(kKindJoinToken, token.id);
    if (absl::IsNotFound(stored.status())) return Refused(token.id, "unknown token");
    if (!stored.ok()) return stored.status();
    ferry::v1::JoinTokenRecord record;
    if (!record.ParseFromString(stored->value)) {
      return absl::DataLossError(absl::StrCat("join token ", token.id, ": unreadable record"));
    }
    if (!security::ConstantTimeEquals(record.secret_sha256(), security::HashSecret(token.secret))) {
      return Refused(token.id, "wrong secret");
    }
    if (record.used()) return Refused(token.id, "already used; create a new one");
    if (clock_() >= api::FromTimestamp(record.expires())) {
      return Refused(token.id, absl::StrCat("expired at ",
                                            absl::FormatTime(api::FromTimestamp(record.expires())),
                                            "; create a new one"));
    }
    if (record.node_name() != node_name) {
      return Refused(token.id, absl::StrCat("issued for node \"", record.node_name(), "\", not \"",
                                            node_name, "\""));
    }
    record.set_used(true);
    WriteOp op;
    op.kind = kKindJoinToken;
    op.name = token.id;
    op.value = record.SerializeAsString();
    op.expected_revision = stored->revision;
    absl::StatusOr<int64_t> committed = store_->Commit({op});
    if (committed.ok()) return absl::OkStatus();
    if (!absl::IsAborted(committed.status())) return committed.status();
    // Someone wrote the record meanwhile (another join): read it again,
    // which now says "already used".
  }
  return Refused(token.id, "already used; create a new one");
}

absl::Status CredentialStore::RecordCertificate(const ferry::v1::CertificateRecord& record) {
  WriteOp op;
  op.kind = kKindCertificate;
  op.name = record.serial();
  op.value = record.SerializeAsString();
  op.expected_revision = WriteOp::kMustNotExist;
  absl::StatusOr<int64_t> committed = store_->Commit({op});
  return committed.ok() ? absl::OkStatus() : committed.status();
}

absl::StatusOr<int> CredentialStore::Revoke(const std::string& subject, const std::string& role) {
  std::vector<std::pair<ferry::v1::CertificateRecord, int64_t>> matches;
  absl::StatusOr<int64_t> listed = store_->List(kKindCertificate, [&](const StoredObject& stored) {
    ferry::v1::CertificateRecord record;
    if (record.ParseFromString(stored.value) && !record.revoked() && record.subject() == subject &&
        (role.empty() || record.role() == role)) {
      matches.emplace_back(std::move(record), stored.revision);
    }
    return true;
  });
  if (!listed.ok()) return listed.status();
  if (matches.empty()) return 0;
  std::vector<WriteOp> ops;
  for (auto& [record, revision] : matches) {
    record.set_revoked(true);
    WriteOp op;
    op.kind = kKindCertificate;
    op.name = record.serial();
    op.value = record.SerializeAsString();
    op.expected_revision = revision;
    ops.push_back(std::move(op));
  }
  if (absl::StatusOr<int64_t> committed = store_->Commit(ops); !committed.ok()) {
    return committed.status();
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [record, revision] : matches) revoked_.insert(record.serial());
  return static_cast<int>(matches.size());
}

bool CredentialStore::IsRevoked(const std::string& serial) const {
  absl::MutexLock lock(&mu_);
  return revoked_.contains(serial);
}

}  // namespace ferry::controller
