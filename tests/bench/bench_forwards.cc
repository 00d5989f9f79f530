#include "tests/bench/bench_forwards.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "node-agent/state/desired_state.h"

namespace ferry::bench {
namespace {

constexpr int kPortsPerAddress = 500;
constexpr uint32_t kFirstPort = 10000;

// 10.64.0.0/10 + offset, dotted.
std::string Addr(uint32_t base, uint32_t offset) {
  const uint32_t a = base + offset;
  return absl::StrCat(a >> 24, ".", (a >> 16) & 0xff, ".", (a >> 8) & 0xff, ".", a & 0xff);
}

const char* ProtoName(ferry::v1::Protocol p) { return p == ferry::v1::UDP ? "udp" : "tcp"; }

}  // namespace

ferry::v1::DnatRule SyntheticForward(int i) {
  ferry::v1::DnatRule rule;
  rule.set_forward(absl::StrCat("fwd-", i));
  rule.set_generation(1);
  rule.set_frontend_address(Addr(10u << 24 | 64u << 16, i / kPortsPerAddress));
  rule.set_protocol(ferry::v1::TCP);
  rule.set_port(kFirstPort + i % kPortsPerAddress);
  rule.set_backend_address(Addr(10u << 24 | 128u << 16, i));
  rule.set_target_port(8080);
  return rule;
}

ferry::v1::NodeConfig SyntheticConfig(int n, int version) {
  ferry::v1::NodeConfig config;
  config.set_version(absl::StrCat("v", version));
  config.set_ipv4_forwarding(true);
  config.mutable_dnat()->Reserve(n);
  for (int i = 0; i < n; ++i) *config.add_dnat() = SyntheticForward(i);
  return config;
}

std::string NftKey(const ferry::v1::DnatRule& rule) {
  return absl::StrCat(rule.frontend_address(), " . ", ProtoName(rule.protocol()), " . ",
                      rule.port());
}

std::string NftElement(const ferry::v1::DnatRule& rule) {
  return absl::StrCat(NftKey(rule), " comment \"", agent::ForwardComment(rule.forward()),
                      "\" : ", rule.backend_address(), " . ", rule.target_port());
}

std::string NftRuleset(const ferry::v1::NodeConfig& config) {
  std::string out;
  out.reserve(128 + config.dnat_size() * 80);
  absl::StrAppend(&out,
                  "table inet ferry {\n"
                  "  comment \"managed by ferry-agent; do not edit\"\n"
                  "  map dnat4 {\n"
                  "    type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service\n"
                  "    comment \"client-facing addr . proto . port : backend addr . port\"\n");
  if (config.dnat_size() > 0) {
    absl::StrAppend(&out, "    elements = {\n");
    for (int i = 0; i < config.dnat_size(); ++i) {
      absl::StrAppend(&out, "      ", NftElement(config.dnat(i)),
                      i + 1 < config.dnat_size() ? ",\n" : "\n");
    }
    absl::StrAppend(&out, "    }\n");
  }
  absl::StrAppend(
      &out,
      "  }\n"
      "  map dnat6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }\n"
      "  set masq4 { type ipv4_addr . inet_proto . inet_service; }\n"
      "  set masq6 { type ipv6_addr . inet_proto . inet_service; }\n"
      "  chain prerouting {\n"
      "    type nat hook prerouting priority dstnat; policy accept;\n"
      "    dnat ip to ip daddr . meta l4proto . th dport map @dnat4 comment \"ferry:dnat4\"\n"
      "    dnat ip6 to ip6 daddr . meta l4proto . th dport map @dnat6 comment \"ferry:dnat6\"\n"
      "  }\n"
      "  chain postrouting {\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n"
      "    ct status dnat ip daddr . meta l4proto . th dport @masq4 masquerade"
      " comment \"ferry:masq4\"\n"
      "    ct status dnat ip6 daddr . meta l4proto . th dport @masq6 masquerade"
      " comment \"ferry:masq6\"\n"
      "  }\n"
      "}\n");
  return out;
}

std::string IptablesRestore(const ferry::v1::NodeConfig& config) {
  std::string out =
      "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n"
      ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";
  out.reserve(out.size() + config.dnat_size() * 110);
  for (const ferry::v1::DnatRule& rule : config.dnat()) {
    const char* proto = ProtoName(rule.protocol());
    absl::StrAppend(&out, "-A PREROUTING -d ", rule.frontend_address(), "/32 -p ", proto, " -m ",
                    proto, " --dport ", rule.port(), " -j DNAT --to-destination ",
                    rule.backend_address(), ":", rule.target_port(), "\n");
  }
  absl::StrAppend(&out, "COMMIT\n");
  return out;
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot write ", path));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) return absl::InternalError(absl::StrCat("writing ", path));
  return absl::OkStatus();
}

}  // namespace ferry::bench
