#include "controller/security/controller_pki.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lib/files.h"
#include "api/lib/log.h"
#include "api/lib/private_files.h"

namespace ferry::controller {
namespace {

constexpr absl::Duration kCaValidity = absl::Hours(24 * 365 * 10);
constexpr absl::Duration kServerValidity = absl::Hours(24 * 365);
constexpr absl::Duration kServerRenewBefore = absl::Hours(24 * 30);

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> text = api::ReadFileToString(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(flag, ": ", text.status().message()));
  }
  return text;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsWildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::" || host == "[::]" || host.empty();
}

std::string Unbracket(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

void AddLocalAddresses(std::set<std::string>* out) {
  struct ifaddrs* addrs = nullptr;
  if (::getifaddrs(&addrs) != 0) return;
  for (struct ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text,
                sizeof(text));
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      const in6_addr& v6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&v6)) continue;  // scoped: useless in a certificate
      inet_ntop(AF_INET6, &v6, text, sizeof(text));
    } else {
      continue;
    }
    out->insert(text);
  }
  ::freeifaddrs(addrs);
}

// Whether the serving certificate must be issued again: it is missing,
// unreadable, not from this CA, short of a wanted SAN or near expiry.
bool ServingCertStale(const std::string& chain, const std::string& ca_pem,
                      const std::vector<std::string>& sans) {
  if (!security::VerifyCertificate(chain, ca_pem, absl::Now() + kServerRenewBefore).ok()) {
    return true;
  }
  absl::StatusOr<security::CertificateInfo> info = security::ParseCertificatePem(chain);
  if (!info.ok()) return true;
  std::set<std::string> have(info->sans.begin(), info->sans.end());
  return !std::all_of(sans.begin(), sans.end(),
                      [&](const std::string& san) { return have.count(san) > 0; });
}

}  // namespace

std::vector<std::string> ServingSans(const std::vector<std::string>& listen_hosts,
                                     const std::vector<std::string>& extra) {
  std::set<std::string> sans = {"localhost", "127.0.0.1", "::1"};
  for (const std::string& host : listen_hosts) {
    if (IsWildcard(host)) {
      AddLocalAddresses(&sans);
    } else {
      sans.insert(Unbracket(host));
    }
  }
  char hostname[256] = {};
  if (::gethostname(hostname, sizeof(hostname) - 1) == 0 && hostname[0] != '\0') {
    sans.insert(hostname);
  }
  for (const std::string& name : extra) sans.insert(Unbracket(name));
  return {sans.begin(), sans.end()};
}

absl::StatusOr<std::unique_ptr<ControllerPki>> ControllerPki::LoadOrCreate(
    const PkiOptions& options) {
  std::unique_ptr<ControllerPki> pki(new ControllerPki());
  const bool own = !options.tls_cert_file.empty() || !options.tls_key_file.empty() ||
                   !options.client_ca_file.empty();
  absl::Status loaded = own ? pki->LoadOwn(options) : pki->LoadOrCreateManaged(options);
  if (!loaded.ok()) return loaded;
  absl::StatusOr<std::string> pin = security::SpkiSha256Hex(pki->ca_.cert_pem);
  if (!pin.ok()) return pin.status();
  pki->ca_pin_ = *std::move(pin);
  return pki;
}

absl::Status ControllerPki::LoadOwn(const PkiOptions& options) {
  if (options.tls_cert_file.empty() || options.tls_key_file.empty() ||
      options.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert, --tls-key and --client-ca go together: give all three, or none for the "
        "controller's own CA under DATA_DIR/pki");
  }
  absl::StatusOr<std::string> cert = ReadFile(options.tls_cert_file, "--tls-cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(options.tls_key_file, "--tls-key");
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> ca = ReadFile(options.client_ca_file, "--client-ca");
  if (!ca.ok()) return ca.status();
  if (absl::Status s = security::CheckKeyMatchesCertificate(*key, *cert); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--tls-key: ", s.message()));
  }
  if (absl::Status s = security::VerifyCertificate(*cert, *ca, absl::Now()); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-cert: must chain to --client-ca (agents pin that CA): ", s.message()));
  }
  ca_.cert_pem = *ca;
  if (!options.ca_key_file.empty()) {
    absl::StatusOr<std::string> ca_key = ReadFile(options.ca_key_file, "--ca-key");
    if (!ca_key.ok()) return ca_key.status();
    if (absl::Status s = security::CheckKeyMatchesCertificate(*ca_key, *ca); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--ca-key: ", s.message()));
    }
    ca_.key_pem = *std::move(ca_key);
  }
  server_chain_pem_ =
      absl::StrCat(*cert, security::SplitPemCertificates(*cert).size() > 1 ? "" : *ca);
  server_key_pem_ = *std::move(key);
  return absl::OkStatus();
}

absl::Status ControllerPki::LoadOrCreateManaged(const PkiOptions& options) {
  const std::string dir = absl::StrCat(options.data_dir, "/pki");
  if (absl::Status s = EnsurePrivateDir(dir); !s.ok()) return s;
  const std::string ca_cert = dir + "/ca.crt", ca_key = dir + "/ca.key";
  const std::string server_cert = dir + "/server.crt", server_key = dir + "/server.key";
  if (Exists(ca_cert) && Exists(ca_key)) {
    absl::StatusOr<std::string> cert = ReadFile(ca_cert, "pki");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(ca_key, "pki");
    if (!key.ok()) return key.status();
    if (absl::Status s = security::CheckKeyMatchesCertificate(*key, *cert); !s.ok()) {
      return absl::DataLossError(
          absl::StrCat(ca_key, " does not match ", ca_cert, ": ", s.message()));
    }
    ca_ = {*std::move(cert), *std::move(key)};
  } else {
    absl::StatusOr<security::CertificateAuthority> ca =
        security::CreateCertificateAuthority("ferry-ca", kCaValidity);
    if (!ca.ok()) return ca.status();
    // Key first: a crash between the two leaves no certificate without its key.
    if (absl::Status s = WritePrivateFile(ca_key, ca->key_pem); !s.ok()) return s;
    if (absl::Status s = WritePrivateFile(ca_cert, ca->cert_pem); !s.ok()) return s;
    ca_ = *std::move(ca);
    LogInfo("created the cluster CA", {{"path", ca_cert}});
  }
  absl::StatusOr<std::string> chain = ReadFile(server_cert, "pki");
  absl::StatusOr<std::string> key = ReadFile(server_key, "pki");
  if (chain.ok() && key.ok() && security::CheckKeyMatchesCertificate(*key, *chain).ok() &&
      !ServingCertStale(*chain, ca_.cert_pem, options.sans)) {
    server_chain_pem_ = *std::move(chain);
    server_key_pem_ = *std::move(key);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> new_key = security::GenerateKeyPem();
  if (!new_key.ok()) return new_key.status();
  absl::StatusOr<std::string> csr = security::MakeCsrPem(*new_key, "ferry-controller");
  if (!csr.ok()) return csr.status();
  security::SigningRequest request;
  request.csr_pem = *csr;
  request.common_name = "ferry-controller";
  request.server = true;
  request.sans = options.sans;
  request.validity = kServerValidity;
  absl::StatusOr<std::string> leaf = security::SignCertificate(ca_, request);
  if (!leaf.ok()) return leaf.status();
  server_chain_pem_ = absl::StrCat(*leaf, ca_.cert_pem);
  server_key_pem_ = *std::move(new_key);
  if (absl::Status s = WritePrivateFile(server_key, server_key_pem_); !s.ok()) return s;
  if (absl::Status s = WritePrivateFile(server_cert, server_chain_pem_); !s.ok()) return s;
  LogInfo("issued the serving certificate",
          {{"path", server_cert}, {"sans", absl::StrJoin(options.sans, ",")}});
  return absl::OkStatus();
}

absl::StatusOr<std::string> ControllerPki::SignClient(const std::string& csr_pem,
                                                      const std::string& common_name,
                                                      const std::string& role,
                                                      absl::Duration validity) const {
  if (!can_sign()) {
    return absl::FailedPreconditionError(
        "this controller holds no CA key (own PKI without --ca-key): issue client certificates "
        "with your own CA");
  }
  security::SigningRequest request;
  request.csr_pem = csr_pem;
  request.common_name = common_name;
  request.role = role;
  request.validity = validity;
  return security::SignCertificate(ca_, request);
}

}  // namespace ferry::controller
