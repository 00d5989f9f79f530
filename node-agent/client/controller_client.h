#ifndef FERRY_NODE_AGENT_CLIENT_CONTROLLER_CLIENT_H_
#define FERRY_NODE_AGENT_CLIENT_CONTROLLER_CLIENT_H_

// The agent's end of AgentService.Sync: say hello, apply each pushed config
// in order and answer it with an ACK or NACK, report address and route
// source changes, and reconnect with backoff when the stream dies. With
// several controller replicas it follows the leader a follower names, and
// otherwise tries them in turn (ControllerTargets). It knows nothing about
// the kernel: pushes go to injected apply functions (a full config to one,
// an incremental delta to the other).

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/client/backoff.h"
#include "node-agent/client/controller_targets.h"

namespace grpc {
class Channel;
class ChannelCredentials;
class ClientContext;
}  // namespace grpc

namespace ferry::agent {

// Metadata key carrying the agent's node name on a unix socket. Over TCP
// the node's identity is its certificate; the controller reads this header
// only from an admin peer (root on the unix socket), as an impersonation.
inline constexpr char kNodeMetadataKey[] = "x-ferry-node";

// A push larger than this is refused by gRPC before it is parsed. A full
// push at 100k forwards is ~5 MB; the cap bounds what a misbehaving
// controller can make the agent allocate.
inline constexpr int kMaxPushBytes = 64 << 20;

class ControllerClient {
 public:
  using ApplyFunction = std::function<absl::Status(const ferry::v1::NodeConfig&)>;
  using ApplyDeltaFunction = std::function<absl::Status(const ferry::v1::NodeConfigDelta&)>;

  using CredentialsSource =
      std::function<absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>()>;

  struct Options {
    // The controller replicas, tried in this order (ParseControllerTargets);
    // at least one.
    std::vector<std::string> targets;
    // Asked before every connection attempt; a different object than the
    // last rebuilds the channels, so renewed certificates are used from the
    // next reconnect on. An error is logged and retried with backoff.
    // Unset: insecure, for a unix: target, and the node name goes in the
    // x-ferry-node header.
    CredentialsSource credentials;
    std::string node_name;
    std::map<std::string, std::string> labels;
    // For people and logs: what the agent can do is announced as
    // Hello.capabilities (api::AddAgentCapabilities), never by version.
    std::string agent_version;
    Backoff::Options backoff;
    // The controller permits a ping every 10 s; pinging more often gets
    // the connection closed with "too_many_pings".
    absl::Duration keepalive_time = absl::Seconds(20);
    absl::Duration keepalive_timeout = absl::Seconds(10);
    // How long one connection attempt (TCP and TLS handshakes) may take.
    absl::Duration connect_timeout = absl::Seconds(20);
    // Forwards the node holds but cannot serve (name -> why), sent with
    // every ACK as ConfigAck.forward_errors; the controller marks those
    // forwards failed on this node. Unset: none.
    std::function<std::map<std::string, std::string>()> forward_errors;
    // Called after the ACK of an applied push is on its way. Work that may
    // wait on the kernel (the agent's own recheck of 100k elements) starts
    // here, so it never holds the ACK back. Unset: nothing.
    std::function<void()> on_applied;
    // Whether the kernel still holds the last push ACKed. The Hello names
    // that version (a controller then adopts it instead of pushing it again)
    // only while this says so; after a push that failed partway and could
    // not be rolled back it does not. Unset: always.
    std::function<bool()> holds_last_applied;
    // Answers a PlanRequest (ResourceService.Diff): what applying the
    // config would change in the kernel, as "+ ..." / "- ..." lines, or
    // why that is unknown. Called on a thread of its own, one request at
    // a time, so pushes are read and applied meanwhile; the answer is
    // written as soon as it is ready, between any other messages. Unset:
    // every request is answered with an error.
    std::function<absl::StatusOr<std::vector<std::string>>(const ferry::v1::NodeConfig&)> plan;
    // Announced in every Hello beside api::AddAgentCapabilities's: what
    // this process has enabled (CAPABILITY_DATA_PATH_PROBE while it
    // probes). Each is sent once.
    std::vector<ferry::v1::Capability> capabilities;
    // Called on Run's thread once each new stream's Hello and what follows
    // it (addresses, drift) are written: the cue to send what is kept only
    // as changes, in full (the data-path verdicts). Must not block. Unset:
    // nothing.
    std::function<void()> on_connected;
    // Called on Run's thread when a stream that had sent its Hello ends
    // (before any retry). Must not block. Unset: nothing.
    std::function<void()> on_disconnected;
  };

  // `random` feeds the backoff jitter; by default a uniform [0, 1) source.
  ControllerClient(Options options, ApplyFunction apply, Backoff::RandomSource random = nullptr);
  // Also applies deltas; without `apply_delta` every delta is NACKed.
  ControllerClient(Options options, ApplyFunction apply, ApplyDeltaFunction apply_delta,
                   Backoff::RandomSource random = nullptr);

  ControllerClient(const ControllerClient&) = delete;
  ControllerClient& operator=(const ControllerClient&) = delete;

  // Keeps one stream open until Stop(); every reconnect says hello again
  // and the controller resends the full config.
  void Run();
  // Cancels the stream and the reconnect wait; Run() returns soon after.
  void Stop();

  // Remembers the addresses for the next Hello and sends an AddressUpdate
  // (with the route sources, once known) if a stream is open. Safe from
  // any thread.
  void UpdateAddresses(std::vector<ferry::v1::NodeAddress> addresses);
  // Remembers the node's routes to its backends (the whole list, sorted by
  // destination) and sends them with the addresses as an AddressUpdate if
  // a stream is open; once given, they also follow every Hello, which has
  // no field for them, so a restarted controller never keeps stale ones.
  // Until then none are sent after a Hello: the agent does not know them
  // yet, which is not the same as having none. Safe from any thread.
  void UpdateRouteSources(std::vector<ferry::v1::RouteSource> sources);

  // Sends the report if a stream is open; otherwise (or if the write
  // fails) keeps it, the newest kMaxQueuedReports, and sends them in order
  // right after the next Hello. With nothing queued, every Hello is followed
  // by the standing drift (the last report without its repairs, which were
  // events already sent): a restarted controller keeps drift only in memory,
  // and reports are sent on change only. Safe from any thread.
  void ReportDrift(ferry::v1::DriftReport report);
  static constexpr size_t kMaxQueuedReports = 256;
  // Writes the report if a stream is open; false if there is none or the
  // write failed. Never queued: each new stream's on_connected asks for a
  // full report instead. Safe from any thread.
  bool ReportDataPath(const ferry::v1::DataPathReport& report);
  // Plan requests waiting for Options::plan beyond the one it is
  // answering; one more is answered at once with an error. The controller
  // sends at most 16 at a time.
  static constexpr size_t kMaxQueuedPlans = 16;
  size_t queued_reports() const;

  // The version of the last config applied successfully.
  std::string last_applied_version() const;

  // The controller the open stream goes to (its Hello was sent); empty
  // while there is none.
  std::string connected_controller() const;

 private:
  using Stream =
      grpc::ClientReaderWriterInterface<ferry::v1::AgentMessage, ferry::v1::ControllerMessage>;

  // How a stream ended, for ControllerTargets.
  struct StreamEnd {
    bool attempted = false;    // a stream was started (credentials were usable)
    bool established = false;  // a message came from the controller
    std::string leader;        // kLeaderMetadataKey, if the controller set it
    bool follower = false;     // the key was there: a follower answered
    grpc::Status status;
  };

  struct Connection;

  StreamEnd RunStream(const std::string& target, Backoff& backoff);
  // The channel and stub for a stream to `target` (valid until Run moves
  // on); null (logged) if credentials failed.
  Connection* PrepareStub(const std::string& target);
  // Waits until the channel is ready, an attempt to connect has failed, or
  // connect_timeout. Nothing else polls an idle channel but gRPC's backup
  // poller (every 5 s), so a TLS handshake's round trips would otherwise
  // crawl and time out: seen as 30 s to reconnect to a restarted
  // controller. The stream that follows fails fast, with the reason, if
  // the channel is not ready.
  void AwaitConnection(grpc::Channel& channel);
  // Forgets `target`'s channel if it failed, as the agent moves to another
  // target. gRPC keeps a failed channel in TRANSIENT_FAILURE through its
  // retries until one succeeds, so on coming back AwaitConnection could not
  // tell a new attempt's failure from the old one and would wait the whole
  // connect_timeout; a new channel reports its first attempt.
  void DropIfFailed(const std::string& target);
  void HandlePush(const ferry::v1::ConfigPush& push);
  // Queues a plan request for ServePlans, or answers it at once with why
  // it cannot be answered.
  void QueuePlan(ferry::v1::PlanRequest request);
  // Answers queued plan requests on the stream, until the stream ends
  // (StopPlans).
  void ServePlans();
  void StopPlans();
  ferry::v1::AgentMessage MakeHello() const;
  // The AddressUpdate of the addresses and route sources remembered. Built
  // under write_mu_, like the hello, so that updates from two threads
  // reach the stream in the order they were remembered.
  ferry::v1::AgentMessage MakeAddressUpdate() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Writes if a stream is open; false if there is none or it is broken.
  bool Write(const ferry::v1::AgentMessage& message);
  // Sends queued drift reports in order; stops at the first failed write.
  void FlushReports() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const Options options_;
  const ApplyFunction apply_;
  const ApplyDeltaFunction apply_delta_;
  Backoff::RandomSource random_;
  // Used by Run's thread only.
  ControllerTargets targets_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  struct Connection {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<ferry::v1::AgentService::Stub> stub;
  };
  // One channel per target, made when first used and kept while the
  // credentials are the same: going back to a replica reuses its
  // connection. A leader outside the list is dropped once left.
  std::map<std::string, Connection> connections_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<ferry::v1::NodeAddress> addresses_ ABSL_GUARDED_BY(mu_);
  // Unset until the first UpdateRouteSources.
  std::optional<std::vector<ferry::v1::RouteSource>> route_sources_ ABSL_GUARDED_BY(mu_);
  std::string last_applied_version_ ABSL_GUARDED_BY(mu_);
  std::string connected_controller_ ABSL_GUARDED_BY(mu_);

  // Serialises writes: the sync API allows one writer at a time, and the
  // reader thread (acks) and the address monitor (updates) both write.
  mutable absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  Stream* stream_ ABSL_GUARDED_BY(write_mu_) = nullptr;
  // Drift reports not yet written; the oldest are dropped first, so the
  // latest view of drift is always kept.
  std::deque<ferry::v1::AgentMessage> pending_reports_ ABSL_GUARDED_BY(write_mu_);
  std::optional<ferry::v1::AgentMessage> standing_drift_ ABSL_GUARDED_BY(write_mu_);

  // Plan requests of the current stream, for ServePlans' thread. An answer
  // goes out only on the stream its request came on: the queue is emptied
  // and the thread joined before the stream ends.
  absl::Mutex plan_mu_;
  std::deque<ferry::v1::PlanRequest> plans_ ABSL_GUARDED_BY(plan_mu_);
  bool plans_stopped_ ABSL_GUARDED_BY(plan_mu_) = false;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CLIENT_CONTROLLER_CLIENT_H_
