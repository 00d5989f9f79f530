#include "node-agent/client/controller_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "api/lib/sync_protocol.h"

namespace ferry::agent {
namespace {

int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

std::shared_ptr<grpc::Channel> MakeChannel(const ControllerClient::Options& options,
                                           const std::string& target,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(options.keepalive_time));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(options.keepalive_timeout));
  // Without this gRPC stops pinging after two pings with no data, and an
  // idle config stream is exactly when a dead peer must be noticed.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A full push carries the node's whole config: ~5 MB at 100k forwards,
  // over gRPC's 4 MiB default. The controller bounds what it sends, and
  // the agent what it accepts.
  args.SetMaxReceiveMessageSize(kMaxPushBytes);
  // Keep the channel's own reconnect backoff in step with ours, so a
  // restarted controller is reached within our delay, not gRPC's (up to 120 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, Millis(options.backoff.initial));
  // Despite its name, gRPC takes this as the least time a connection attempt
  // is given (its MIN_CONNECT_TIMEOUT), not as a backoff: at 200 ms a TLS
  // handshake across a WAN would time out.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, Millis(options.connect_timeout));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, Millis(options.backoff.max));
  return grpc::CreateCustomChannel(target, credentials, args);
}

// The answer to a plan request: its lines, or why they are unknown.
ferry::v1::AgentMessage PlanAnswer(const std::string& nonce,
                                   absl::StatusOr<std::vector<std::string>> lines) {
  ferry::v1::AgentMessage message;
  ferry::v1::PlanResult& result = *message.mutable_plan();
  result.set_nonce(nonce);
  if (!lines.ok()) {
    result.set_error(std::string(lines.status().message()));
    return message;
  }
  result.mutable_lines()->Reserve(static_cast<int>(lines->size()));
  for (std::string& line : *lines) result.add_lines(std::move(line));
  return message;
}

Backoff::RandomSource DefaultRandom() {
  auto gen = std::make_shared<absl::BitGen>();
  return [gen] { return absl::Uniform(*gen, 0.0, 1.0); };
}

}  // namespace

ControllerClient::ControllerClient(Options options, ApplyFunction apply,
                                   Backoff::RandomSource random)
    : ControllerClient(std::move(options), std::move(apply), nullptr, std::move(random)) {}

ControllerClient::ControllerClient(Options options, ApplyFunction apply,
                                   ApplyDeltaFunction apply_delta, Backoff::RandomSource random)
    : options_(std::move(options)),
      apply_(std::move(apply)),
      apply_delta_(std::move(apply_delta)),
      random_(random ? std::move(random) : DefaultRandom()),
      targets_(options_.targets) {}

ControllerClient::Connection* ControllerClient::PrepareStub(const std::string& target) {
  if (!options_.credentials) {
    if (credentials_ == nullptr) credentials_ = grpc::InsecureChannelCredentials();
  } else {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = options_.credentials();
    if (!credentials.ok()) {
      LogError("cannot connect: no usable credentials",
               {{"controller", target}, {"error", std::string(credentials.status().message())}});
      return nullptr;
    }
    if (*credentials != credentials_) {
      if (!connections_.empty()) LogInfo("credentials changed; new channels", {});
      connections_.clear();
      credentials_ = *std::move(credentials);
    }
  }
  // A leader outside the list is asked again only if a follower names it
  // again: its channel goes once the agent has moved on.
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (it->first != target && !targets_.Listed(it->first)) {
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
  Connection& connection = connections_[target];
  if (connection.channel == nullptr) {
    connection.channel = MakeChannel(options_, target, credentials_);
    connection.stub = ferry::v1::AgentService::NewStub(connection.channel);
  }
  return &connection;
}

void ControllerClient::Run() {
  Backoff backoff(options_.backoff, random_);
  while (true) {
    const StreamEnd end = RunStream(targets_.current(), backoff);
    const ControllerTargets::Move move = targets_.Ended(end.established, end.leader);
    // A follower answered: the control plane is up and a leader is, or is
    // about to be, elected. What is left is finding it, which a backoff
    // grown during the failover (a dead leader refusing) would only delay.
    if (end.follower) backoff.Reset();
    const absl::Duration delay = move.wait ? backoff.Next() : absl::ZeroDuration();
    if (move.to != move.from) DropIfFailed(move.from);
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    const std::string error = end.status.error_message();
    if (!move.ignored.empty()) {
      LogWarning("not following the leader named",
                 {{"controller", move.from}, {"leader", end.leader}, {"why", move.ignored}});
    }
    if (move.redirect) {
      LogInfo("following the leader", {{"from", move.from},
                                       {"to", move.to},
                                       {"after", absl::FormatDuration(delay)},
                                       {"reason", error}});
    } else {
      if (end.attempted) {
        LogWarning("stream closed", {{"controller", move.from},
                                     {"code", absl::StrCat(end.status.error_code())},
                                     {"error", error}});
      }
      if (move.to != move.from) {
        LogInfo("trying the next controller",
                {{"from", move.from}, {"to", move.to}, {"after", absl::FormatDuration(delay)}});
      } else {
        LogInfo("reconnecting", {{"controller", move.to}, {"after", absl::FormatDuration(delay)}});
      }
    }
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
    if (stopping_) return;
  }
}

void ControllerClient::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

void ControllerClient::DropIfFailed(const std::string& target) {
  auto it = connections_.find(target);
  if (it != connections_.end() &&
      it->second.channel->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
    connections_.erase(it);
  }
}

void ControllerClient::AwaitConnection(grpc::Channel& channel) {
  constexpr absl::Duration kSlice = absl::Milliseconds(100);  // how soon Stop() is seen
  const absl::Time deadline = absl::Now() + options_.connect_timeout;
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  // From IDLE the call above starts an attempt, and a refused one can reach
  // TRANSIENT_FAILURE before CONNECTING is ever seen.
  bool attempted = state == GRPC_CHANNEL_CONNECTING || state == GRPC_CHANNEL_IDLE;
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_SHUTDOWN &&
         !(attempted && state == GRPC_CHANNEL_TRANSIENT_FAILURE) && absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    channel.WaitForStateChange(state, absl::ToChronoTime(std::min(deadline, absl::Now() + kSlice)));
    state = channel.GetState(/*try_to_connect=*/true);
    attempted = attempted || state == GRPC_CHANNEL_CONNECTING;
  }
}

ControllerClient::StreamEnd ControllerClient::RunStream(const std::string& target,
                                                        Backoff& backoff) {
  StreamEnd end;
  Connection* connection = PrepareStub(target);
  if (connection == nullptr) return end;
  AwaitConnection(*connection->channel);
  grpc::ClientContext context;
  if (!options_.credentials) context.AddMetadata(kNodeMetadataKey, options_.node_name);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return end;
    context_ = &context;
  }
  std::unique_ptr<Stream> stream = connection->stub->Sync(&context);
  end.attempted = true;
  bool hello_sent = false;
  {
    absl::MutexLock lock(&write_mu_);
    stream_ = stream.get();
    // Built under write_mu_, so an address change either makes it into the
    // hello or is sent as an update right after it.
    hello_sent = stream_->Write(MakeHello());
    // The hello has no route sources: the controller's may be from before
    // a restart of either end.
    bool sources_known = false;
    {
      absl::MutexLock lock(&mu_);
      sources_known = route_sources_.has_value();
    }
    if (hello_sent && sources_known) hello_sent = stream_->Write(MakeAddressUpdate());
    if (hello_sent && pending_reports_.empty() && standing_drift_.has_value()) {
      pending_reports_.push_back(*standing_drift_);
    }
    if (hello_sent) FlushReports();
  }
  if (hello_sent) {
    {
      absl::MutexLock lock(&mu_);
      connected_controller_ = target;
    }
    LogInfo("connected", {{"controller", target}});
  }
  if (hello_sent && options_.on_connected) options_.on_connected();

  // Plans are answered beside the pushes, which this thread applies.
  std::thread planner;
  if (hello_sent && options_.plan) {
    {
      absl::MutexLock lock(&plan_mu_);
      plans_.clear();
      plans_stopped_ = false;
    }
    planner = std::thread([this] { ServePlans(); });
  }
  ferry::v1::ControllerMessage message;
  while (hello_sent && stream->Read(&message)) {
    if (!end.established) {
      end.established = true;
      backoff.Reset();
    }
    if (message.has_push()) {
      HandlePush(message.push());
    } else if (message.has_plan()) {
      QueuePlan(std::move(*message.mutable_plan()));
    }
  }
  if (planner.joinable()) {
    StopPlans();
    planner.join();
  }
  {
    absl::MutexLock lock(&write_mu_);
    stream_ = nullptr;
  }
  if (hello_sent && options_.on_disconnected) options_.on_disconnected();
  end.status = stream->Finish();
  const auto& trailers = context.GetServerTrailingMetadata();
  if (auto it = trailers.find(kLeaderMetadataKey); it != trailers.end()) {
    end.follower = true;
    end.leader.assign(it->second.data(), it->second.size());
  }
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
  connected_controller_.clear();
  return end;
}

void ControllerClient::HandlePush(const ferry::v1::ConfigPush& push) {
  // Exactly one of config and delta is set; a push with neither is an
  // empty config, as before deltas existed.
  const bool delta = push.has_delta();
  const std::string& version = delta ? push.delta().version() : push.config().version();
  LogDebug("received push",
           {{"version", version}, {"nonce", push.nonce()}, {"kind", delta ? "delta" : "full"}});
  absl::Status status;
  if (!delta) {
    status = apply_(push.config());
  } else if (apply_delta_) {
    status = apply_delta_(push.delta());
  } else {
    status = absl::UnimplementedError("this agent does not apply deltas; send the full config");
  }
  ferry::v1::AgentMessage reply;
  // A NACK carries the refusal's reason (a base version mismatch asks for
  // the full config), not only its text.
  ferry::v1::ConfigAck& ack = *reply.mutable_ack();
  ack = ferry::api::AckFor(version, push.nonce(), status);
  if (status.ok()) {
    // Every ACK carries the whole list: the controller replaces its record
    // with each one, so a delta's ACK must repeat forwards it did not touch.
    if (options_.forward_errors) {
      for (auto& [name, error] : options_.forward_errors()) {
        (*ack.mutable_forward_errors())[name] = std::move(error);
      }
    }
    if (!ack.forward_errors().empty()) {
      LogWarning("ack with failed forwards",
                 {{"version", version}, {"failed", absl::StrCat(ack.forward_errors_size())}});
    }
    absl::MutexLock lock(&mu_);
    last_applied_version_ = version;
  } else {
    LogWarning("nack", {{"version", version},
                        {"delta", delta ? "true" : "false"},
                        {"reason", ferry::v1::NackReason_Name(ack.reason())},
                        {"nonce", push.nonce()},
                        {"error", std::string(status.message())}});
  }
  if (!Write(reply)) LogDebug("ack not sent: stream closed", {{"nonce", push.nonce()}});
  if (status.ok() && options_.on_applied) options_.on_applied();
}

void ControllerClient::QueuePlan(ferry::v1::PlanRequest request) {
  absl::Status refused;
  if (!options_.plan) {
    refused = absl::UnimplementedError("this agent does not preview configs");
  } else {
    absl::MutexLock lock(&plan_mu_);
    if (plans_.size() < kMaxQueuedPlans) {
      plans_.push_back(std::move(request));
      return;
    }
    refused = absl::ResourceExhaustedError(
        absl::StrCat("more than ", kMaxQueuedPlans, " diffs wait on this agent; try again"));
  }
  if (!Write(PlanAnswer(request.nonce(), refused))) {
    LogDebug("plan answer not sent: stream closed", {{"nonce", request.nonce()}});
  }
}

void ControllerClient::ServePlans() {
  auto ready = [this]()
                   ABSL_NO_THREAD_SAFETY_ANALYSIS { return plans_stopped_ || !plans_.empty(); };
  while (true) {
    ferry::v1::PlanRequest request;
    {
      absl::MutexLock lock(&plan_mu_);
      plan_mu_.Await(absl::Condition(&ready));
      if (plans_stopped_) return;
      request = std::move(plans_.front());
      plans_.pop_front();
    }
    LogDebug("plan request", {{"nonce", request.nonce()}, {"version", request.config().version()}});
    ferry::v1::AgentMessage answer = PlanAnswer(request.nonce(), options_.plan(request.config()));
    if (!Write(answer))
      LogDebug("plan answer not sent: stream closed", {{"nonce", request.nonce()}});
  }
}

void ControllerClient::StopPlans() {
  absl::MutexLock lock(&plan_mu_);
  plans_stopped_ = true;
  plans_.clear();  // asked on this stream; the controller forgot them with it
}

ferry::v1::AgentMessage ControllerClient::MakeHello() const {
  ferry::v1::AgentMessage message;
  ferry::v1::Hello& hello = *message.mutable_hello();
  hello.set_node_name(options_.node_name);
  hello.mutable_labels()->insert(options_.labels.begin(), options_.labels.end());
  hello.set_agent_version(options_.agent_version);
  ferry::api::AddAgentCapabilities(&hello);
  for (ferry::v1::Capability capability : options_.capabilities) {
    if (!ferry::api::HasCapability(hello, capability)) hello.add_capabilities(capability);
  }
  absl::MutexLock lock(&mu_);
  for (const ferry::v1::NodeAddress& a : addresses_) *hello.add_addresses() = a;
  if (!options_.holds_last_applied || options_.holds_last_applied()) {
    hello.set_last_applied_version(last_applied_version_);
  }
  if (!hello.last_applied_version().empty() && options_.forward_errors) {
    for (auto& [name, error] : options_.forward_errors()) {
      (*hello.mutable_last_applied_forward_errors())[name] = std::move(error);
    }
  }
  return message;
}

bool ControllerClient::Write(const ferry::v1::AgentMessage& message) {
  absl::MutexLock lock(&write_mu_);
  return stream_ != nullptr && stream_->Write(message);
}

ferry::v1::AgentMessage ControllerClient::MakeAddressUpdate() const {
  ferry::v1::AgentMessage message;
  ferry::v1::AddressUpdate& update = *message.mutable_addresses();
  absl::MutexLock lock(&mu_);
  for (const ferry::v1::NodeAddress& a : addresses_) *update.add_addresses() = a;
  if (route_sources_.has_value()) {
    for (const ferry::v1::RouteSource& r : *route_sources_) *update.add_route_sources() = r;
  }
  return message;
}

void ControllerClient::UpdateAddresses(std::vector<ferry::v1::NodeAddress> addresses) {
  absl::MutexLock write(&write_mu_);
  {
    absl::MutexLock lock(&mu_);
    addresses_ = std::move(addresses);
  }
  if (stream_ != nullptr) stream_->Write(MakeAddressUpdate());
}

void ControllerClient::UpdateRouteSources(std::vector<ferry::v1::RouteSource> sources) {
  absl::MutexLock write(&write_mu_);
  {
    absl::MutexLock lock(&mu_);
    route_sources_ = std::move(sources);
  }
  if (stream_ != nullptr) stream_->Write(MakeAddressUpdate());
}

void ControllerClient::ReportDrift(ferry::v1::DriftReport report) {
  ferry::v1::AgentMessage message;
  *message.mutable_drift() = std::move(report);
  ferry::v1::AgentMessage standing = message;
  ferry::v1::DriftReport& view = *standing.mutable_drift();
  view.set_trigger("resync");
  view.mutable_items()->Clear();
  for (const ferry::v1::DriftItem& item : message.drift().items()) {
    if (!item.repaired()) *view.add_items() = item;
  }
  absl::MutexLock lock(&write_mu_);
  standing_drift_ = std::move(standing);
  // Behind older queued reports, never ahead of them.
  if (stream_ != nullptr && pending_reports_.empty() && stream_->Write(message)) return;
  pending_reports_.push_back(std::move(message));
  while (pending_reports_.size() > kMaxQueuedReports) pending_reports_.pop_front();
  if (stream_ != nullptr) FlushReports();
}

bool ControllerClient::ReportDataPath(const ferry::v1::DataPathReport& report) {
  ferry::v1::AgentMessage message;
  *message.mutable_data_path() = report;
  return Write(message);
}

void ControllerClient::FlushReports() {
  while (stream_ != nullptr && !pending_reports_.empty()) {
    if (!stream_->Write(pending_reports_.front())) return;
    pending_reports_.pop_front();
  }
}

size_t ControllerClient::queued_reports() const {
  absl::MutexLock lock(&write_mu_);
  return pending_reports_.size();
}

std::string ControllerClient::last_applied_version() const {
  absl::MutexLock lock(&mu_);
  return last_applied_version_;
}

std::string ControllerClient::connected_controller() const {
  absl::MutexLock lock(&mu_);
  return connected_controller_;
}

}  // namespace ferry::agent
