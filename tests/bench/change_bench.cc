// 1b: one forward's change among N forwards, timed until the kernel's ACK:
// the agent's path for the push the controller sends (a delta, from its
// bytes), a full-config push, Ferry's NAT backend alone, and one `nft`
// process per change.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node-agent/state/desired_state.h"
#include "tests/bench/bench.h"
#include "tests/bench/bench_ferry.h"
#include "tests/bench/bench_forwards.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/bench_util.h"

namespace ferry::bench {
namespace {

constexpr double kTargetSeconds = 5e-3;

struct ChangeTimes {
  int n = 0;
  std::vector<double> delta;       // bytes -> ParseFromString -> Reconciler::ApplyDelta
  std::vector<double> full;        // bytes -> ParseFromString -> Reconciler::Apply (indexed)
  std::vector<double> full_parse;  // the ParseFromString part of `full`
  std::vector<double> backend;     // NatBackend::Apply of the one-element plan
  std::vector<double> nft;         // `nft 'delete element ...; add element ...'`
  size_t delta_bytes = 0;
  size_t full_bytes = 0;
};

uint32_t Toggle(uint32_t port) { return port == 8080 ? 9090 : 8080; }

agent::NatPlan OneElementPlan(const ferry::v1::DnatRule& rule) {
  agent::NatPlan plan;
  agent::DnatKey key{*IpAddress::Parse(rule.frontend_address()), agent::kProtoTcp,
                     static_cast<uint16_t>(rule.port())};
  agent::DnatTarget target{*IpAddress::Parse(rule.backend_address()),
                           static_cast<uint16_t>(rule.target_port()),
                           agent::ForwardComment(rule.forward())};
  plan.dnat_add.emplace_back(key, target);
  return plan;
}

// The push the controller sends for one changed forward, as bytes.
std::string DeltaPush(const ferry::v1::DnatRule& rule, const std::string& base,
                      const std::string& version) {
  ferry::v1::ControllerMessage message;
  ferry::v1::ConfigPush& push = *message.mutable_push();
  push.set_nonce(version);
  ferry::v1::NodeConfigDelta& delta = *push.mutable_delta();
  delta.set_base_version(base);
  delta.set_version(version);
  delta.set_ipv4_forwarding(true);
  delta.add_forwards(rule.forward());
  *delta.add_dnat() = rule;
  return message.SerializeAsString();
}

std::string FullPush(const ferry::v1::NodeConfig& config) {
  ferry::v1::ControllerMessage message;
  message.mutable_push()->set_nonce(config.version());
  *message.mutable_push()->mutable_config() = config;
  return message.SerializeAsString();
}

// Each path changes its own forwards, so none undoes another's change or
// sees state it did not write.
absl::StatusOr<ChangeTimes> MeasureAtN(int n, int changes, double budget_seconds) {
  ChangeTimes out;
  out.n = n;
  absl::StatusOr<std::unique_ptr<Netns>> ns = Netns::Create("chg");
  if (!ns.ok()) return ns.status();
  absl::StatusOr<std::unique_ptr<NetnsEntry>> entry = NetnsEntry::Enter(**ns);
  if (!entry.ok()) return entry.status();
  absl::StatusOr<std::unique_ptr<FerryNode>> node = StartFerryNode();
  if (!node.ok()) return node.status();
  ferry::v1::NodeConfig config = SyntheticConfig(n);
  if (absl::Status s = (*node)->reconciler->Apply(config); !s.ok()) return s;

  const int slice = std::max(1, std::min(100, n / 4));
  std::vector<ferry::v1::DnatRule> direct(slice), by_nft(slice);
  for (int k = 0; k < slice; ++k) {
    direct[k] = config.dnat(slice + k);
    by_nft[k] = config.dnat(n - 1 - k);
  }
  // The delta path and the kernel-level paths take turns. The bench thread
  // sleeps while an nft process runs, so all start from the same scheduler
  // state. Serializing a push is the controller's work: outside the timing.
  std::string version = config.version();
  int next_version = 2;
  double deadline = NowSeconds() + budget_seconds;
  for (int i = 0; i < changes && NowSeconds() < deadline; ++i) {
    ferry::v1::DnatRule* mine = config.mutable_dnat(i % slice);
    mine->set_target_port(Toggle(mine->target_port()));
    mine->set_generation(mine->generation() + 1);
    const std::string next = absl::StrCat("v", next_version++);
    const std::string bytes = DeltaPush(*mine, version, next);
    out.delta_bytes = bytes.size();
    double t0 = NowSeconds();
    ferry::v1::ControllerMessage received;
    if (!received.ParseFromString(bytes)) return absl::InternalError("parsing the delta push");
    if (absl::Status s = (*node)->reconciler->ApplyDelta(received.push().delta()); !s.ok()) {
      return s;
    }
    out.delta.push_back(NowSeconds() - t0);
    version = next;

    ferry::v1::DnatRule& d = direct[i % slice];
    d.set_target_port(Toggle(d.target_port()));
    const agent::NatPlan plan = OneElementPlan(d);
    t0 = NowSeconds();
    if (absl::Status s = (*node)->nat->Apply(plan); !s.ok()) return s;
    out.backend.push_back(NowSeconds() - t0);

    ferry::v1::DnatRule& f = by_nft[i % slice];
    f.set_target_port(Toggle(f.target_port()));
    absl::StatusOr<ProcessResult> r =
        MustRun({"nft", absl::StrCat("delete element inet ferry dnat4 { ", NftKey(f),
                                     " } ; add element inet ferry dnat4 { ", NftElement(f), " }")},
                ns->get());
    if (!r.ok()) return r.status();
    out.nft.push_back(r->wall);
  }
  // The full-config path runs on its own: at large N each call is a long
  // CPU burst (parsing N forwards), after which this loaded machine's
  // scheduler preempts the thread, which would bill a following cheap call
  // for others' CPU time. The config carries the direct and nft paths'
  // forwards as first committed, which the index finds unchanged.
  deadline = NowSeconds() + budget_seconds;
  for (int i = 0; i < changes && NowSeconds() < deadline; ++i) {
    ferry::v1::DnatRule* mine = config.mutable_dnat(i % slice);
    mine->set_target_port(Toggle(mine->target_port()));
    mine->set_generation(mine->generation() + 1);
    config.set_version(absl::StrCat("v", next_version++));
    const std::string bytes = FullPush(config);
    out.full_bytes = bytes.size();
    const double t0 = NowSeconds();
    ferry::v1::ControllerMessage received;
    if (!received.ParseFromString(bytes)) return absl::InternalError("parsing the full push");
    const double t1 = NowSeconds();
    if (absl::Status s = (*node)->reconciler->Apply(received.push().config()); !s.ok()) return s;
    out.full.push_back(NowSeconds() - t0);
    out.full_parse.push_back(t1 - t0);
  }
  return out;
}

std::string Ms(const std::vector<double>& v, double p) { return FormatDuration(Percentile(v, p)); }

}  // namespace

absl::Status RunChangeBench(const BenchOptions& options, Report* report) {
  const std::vector<int> sizes =
      options.quick ? std::vector<int>{1000, 10000} : std::vector<int>{1000, 10000, 100000};
  const int changes = options.quick ? 20 : options.changes;
  const double budget = options.quick ? 10 : 120;
  std::vector<ChangeTimes> results;
  for (int n : sizes) {
    absl::StatusOr<ChangeTimes> t = MeasureAtN(n, changes, budget);
    if (!t.ok()) return t.status();
    results.push_back(*std::move(t));
  }

  Section sec;
  sec.title = "1b. One forward's change among N forwards";
  sec.method = absl::StrCat(
      "In one namespace per N, Ferry first commits N forwards (a full push). Then up to ", changes,
      " changes per path, each changing the backend port of one forward (every path has its own "
      "forwards, so none sees another's writes). Taking turns: the agent's path for the push the "
      "controller sends for one change, a `NodeConfigDelta` naming that forward — from the "
      "serialized `ControllerMessage` the agent receives, `ParseFromString`, "
      "`Reconciler::ApplyDelta` (validate, recompute the forward's keys, one nftables batch) until "
      "the kernel ACKed; Ferry's `NatBackend::Apply` of the one-element plan (the kernel "
      "transaction alone); one `nft 'delete element …; add element …'` process (the same "
      "delete+add, one atomic command). Then, on its own, a full-config push with one forward "
      "changed (what a reconnect or an old controller sends): bytes, `ParseFromString`, "
      "`Reconciler::Apply`, which compares each forward's entries with the last applied and "
      "recomputes only the changed one. The target is judged on the delta path: that is what "
      "the controller sends for one change.");
  sec.header = {"N", "Path", "median", "p99", "changes", "Target", "Verdict"};
  bool delta_met_all = true;
  for (const ChangeTimes& t : results) {
    const bool delta_met = Percentile(t.delta, 50) < kTargetSeconds;
    delta_met_all = delta_met_all && delta_met;
    const std::string n = FormatCount(t.n);
    sec.rows.push_back({n, "Ferry delta push: bytes → `Reconciler::ApplyDelta` → kernel ACK",
                        Ms(t.delta, 50), Ms(t.delta, 99), absl::StrCat(t.delta.size()), "< 5 ms",
                        Verdict(delta_met)});
    sec.rows.push_back({n, "Ferry full push: bytes → `Reconciler::Apply` (indexed) → kernel ACK",
                        Ms(t.full, 50), Ms(t.full, 99), absl::StrCat(t.full.size()), "", ""});
    sec.rows.push_back({n, "Ferry `NatBackend::Apply` (1-element plan)", Ms(t.backend, 50),
                        Ms(t.backend, 99), absl::StrCat(t.backend.size()), "", ""});
    sec.rows.push_back({n, "`nft` delete+add element, 1 process", Ms(t.nft, 50), Ms(t.nft, 99),
                        absl::StrCat(t.nft.size()), "reference", ""});
  }
  const ChangeTimes& small = results.front();
  const ChangeTimes& large = results.back();
  auto growth = [](const std::vector<double>& a, const std::vector<double>& b) {
    return FormatRatio(Median(b) / Median(a));
  };
  sec.notes.push_back(
      absl::StrCat("Growth from N = ", FormatCount(small.n), " to ", FormatCount(large.n),
                   " (median): delta push ", growth(small.delta, large.delta),
                   ", NatBackend::Apply ", growth(small.backend, large.backend), ", full push ",
                   growth(small.full, large.full), ", nft ", growth(small.nft, large.nft), "."));
  for (const ChangeTimes& t : results) {
    sec.notes.push_back(absl::StrCat("At N = ", FormatCount(t.n), " a delta push is ",
                                     FormatCount(t.delta_bytes), " bytes and a full push ",
                                     FormatCount(t.full_bytes),
                                     " bytes; parsing the full push "
                                     "alone takes ",
                                     FormatDuration(Median(t.full_parse)), " (median)."));
  }
  sec.notes.push_back(
      "What limits the delta path: its own work is O(changed forwards) — parse a message of one "
      "forward, expand its entries, recompute only its keys (map lookups, O(log N)), one "
      "one-element nftables batch, the forwarding sysctls read back — so it stays flat in N; "
      "the gap to the NatBackend row is that constant per-push work. The full push stays O(N): "
      "parsing N forwards and comparing each with the last applied (no element is rebuilt or "
      "diffed); it is the fallback after a reconnect, not the path of a change.");
  if (!delta_met_all) {
    sec.notes.push_back(
        "MISSED for the delta path: see the p99 column; on this shared 2-core machine a commit "
        "can wait for the CPU behind other work.");
  }
  report->Add(std::move(sec));
  return absl::OkStatus();
}

}  // namespace ferry::bench
