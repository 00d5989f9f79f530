#ifndef FERRY_TESTS_UNIT_CONTROLLER_ETCD_TEST_SERVER_H_
#define FERRY_TESTS_UNIT_CONTROLLER_ETCD_TEST_SERVER_H_

// A real single-member etcd for the EtcdStore tests: Debian's
// /usr/bin/etcd on free loopback ports, a fresh temp data dir, its log in
// that dir. The child dies with the test process (PR_SET_PDEATHSIG), and is
// killed and its dir removed at the latest when the process exits.
//
// gtest_discover_tests runs each test in a process of its own, so Shared()
// starts one server lazily per process (about a second), and each test
// works under a key prefix of its own (TestPrefix()), never seeing
// another's keys when a whole binary shares one server.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "controller/etcd/etcd_store.h"

namespace ferry::controller {

class EtcdTestServer {
 public:
  struct Options {
    // etcd's own limits; 0 leaves etcd's default (128 ops, 1.5 MiB).
    // Shared() raises them so one large atomic apply fits.
    int max_txn_ops = 0;
    int64_t max_request_bytes = 0;
    // Client TLS (https, --client-cert-auth) when cert_file is set: the
    // member's serving certificate and key, and the CA clients' and the
    // member's certificates chain to. `client` is what the readiness check
    // connects with (its ca_file, cert_file and key_file).
    std::string cert_file;
    std::string key_file;
    std::string trusted_ca_file;
    EtcdClientOptions client;
  };

  // Whether /usr/bin/etcd is there; a test that needs it skips without:
  //   if (!EtcdTestServer::Installed()) GTEST_SKIP() << EtcdTestServer::kNotInstalled;
  static bool Installed();
  static constexpr char kNotInstalled[] =
      "etcd-server is not installed (apt-get install etcd-server)";

  // This process's server, started on first use with --max-txn-ops 200000
  // and --max-request-bytes 64 MiB. Call it from the test's own thread: the
  // child dies when the thread that started it does.
  static absl::StatusOr<EtcdTestServer*> Shared();

  // A server of the test's own, stopped by its destructor.
  static absl::StatusOr<std::unique_ptr<EtcdTestServer>> Start(const Options& options);

  ~EtcdTestServer();
  EtcdTestServer(const EtcdTestServer&) = delete;
  EtcdTestServer& operator=(const EtcdTestServer&) = delete;

  // "http://127.0.0.1:<port>", its client URL.
  const std::string& endpoint() const { return endpoint_; }
  const std::string& log_path() const { return log_path_; }
  // The end of its log (warnings and errors), for a failed test's output.
  std::string LogTail() const;

  // EtcdStore options for this server and the running test's prefix.
  EtcdStore::Options StoreOptions() const;

  // "/ferry-test-<pid>-<suite>-<test>/": the running test's own prefix.
  static std::string TestPrefix();

  // Deletes every key under `prefix` (a test repeated in one process
  // starts from nothing).
  absl::Status DeletePrefix(const std::string& prefix) const;

  // A loopback endpoint where nothing listens (a port this process holds
  // bound, not listening): a connection to it is refused at once.
  static std::string DeadEndpoint();

 private:
  EtcdTestServer(pid_t pid, std::string dir, std::string endpoint)
      : pid_(pid),
        dir_(std::move(dir)),
        endpoint_(std::move(endpoint)),
        log_path_(dir_ + "/etcd.log") {}

  // SIGKILL, waitpid, remove the dir.
  void Stop();

  pid_t pid_;
  const std::string dir_;
  const std::string endpoint_;
  const std::string log_path_;
};

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_ETCD_TEST_SERVER_H_
