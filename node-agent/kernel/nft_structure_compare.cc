// The comparison of an owned table's fixed part with what Ferry creates
// (nft_structure.h's CompareShape and SetReadable), apart from the dumps'
// parsers in nft_structure.cc. Differences are rendered like `nft list`.

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node-agent/kernel/nft_structure.h"

namespace ferry::agent::nft {
namespace {

std::string HookName(uint32_t hook) {
  static const char* const kNames[] = {"prerouting", "input",       "forward",
                                       "output",     "postrouting", "ingress"};
  return hook < std::size(kNames) ? kNames[hook] : absl::StrCat("hook", hook);
}

std::string Describe(const ChainShape& c) {
  if (!c.hook.has_value()) return "regular chain";
  std::string policy = "?";
  if (c.policy.has_value()) policy = *c.policy == NF_ACCEPT ? "accept" : "drop";
  return absl::StrCat("type ", c.type, " hook ", HookName(*c.hook), " priority ",
                      c.priority.value_or(0), " policy ", policy);
}

// nft's datatype names for the ids Ferry uses; a concatenation is one id
// per 6 bits, most significant first.
std::string TypeText(uint32_t id) {
  std::vector<std::string> parts;
  for (int i = 0; id != 0 && i < 6; ++i, id >>= 6) {
    const uint32_t t = id & 0x3f;
    parts.push_back(t == 7    ? "ipv4_addr"
                    : t == 8  ? "ipv6_addr"
                    : t == 12 ? "inet_proto"
                    : t == 13 ? "inet_service"
                    : t == 19 ? "mark"
                    : t == 41 ? "ifname"
                              : absl::StrCat("type", t));
  }
  std::reverse(parts.begin(), parts.end());
  return parts.empty() ? "none" : absl::StrJoin(parts, " . ");
}

std::string Noun(const SetShape& s) {
  return absl::StrCat((s.flags & NFT_SET_MAP) ? "map " : "set ", s.name);
}

std::string Describe(const SetShape& s) {
  std::string text = absl::StrCat("type ", TypeText(s.key_type), " (", s.key_len, " bytes)");
  if (s.flags & NFT_SET_MAP) {
    absl::StrAppend(&text, " : ", TypeText(s.data_type), " (", s.data_len, " bytes)");
  }
  if (s.flags & ~static_cast<uint32_t>(NFT_SET_MAP)) {
    absl::StrAppend(&text, " flags 0x", absl::Hex(s.flags & ~static_cast<uint32_t>(NFT_SET_MAP)));
  }
  return text;
}

std::string Describe(const RuleShape& r) {
  std::string text = r.expressions.empty() ? "no expressions" : r.expressions;
  if (!r.tag.empty()) absl::StrAppend(&text, " comment \"", r.tag, "\"");
  return text;
}

void CompareRules(const std::string& chain, const std::vector<const RuleShape*>& want,
                  const std::vector<const RuleShape*>& have, std::vector<StructureDrift>& out) {
  const std::string where = absl::StrCat(" in chain ", chain);
  std::map<std::string, const RuleShape*> wanted;
  for (const RuleShape* r : want) wanted[r->tag] = r;
  std::set<std::string> seen;
  std::vector<std::string> want_order, have_order;
  for (const RuleShape* r : want) want_order.push_back(r->tag);
  for (const RuleShape* r : have) {
    auto it = wanted.find(r->tag);
    if (it == wanted.end() || !seen.insert(r->tag).second) {
      out.push_back({absl::StrCat("rule handle ", r->handle, where), "", Describe(*r)});
      continue;
    }
    have_order.push_back(r->tag);
    if (r->expressions != it->second->expressions) {
      out.push_back({absl::StrCat("rule ", r->tag, where), Describe(*it->second), Describe(*r)});
    }
  }
  for (const RuleShape* r : want) {
    if (!seen.contains(r->tag)) {
      out.push_back({absl::StrCat("rule ", r->tag, where), Describe(*r), ""});
    }
  }
  if (have_order.size() == want_order.size() && have_order != want_order) {
    out.push_back({absl::StrCat("rule order", where), absl::StrJoin(want_order, ", "),
                   absl::StrJoin(have_order, ", ")});
  }
}

}  // namespace

std::vector<StructureDrift> CompareShape(const TableShape& found) {
  return CompareShape(found, ExpectedShape());
}

std::vector<StructureDrift> CompareShape(const TableShape& found, const TableShape& want) {
  std::vector<StructureDrift> out;
  std::map<std::string, std::vector<const RuleShape*>> want_rules, have_rules;
  for (const RuleShape& r : want.rules) want_rules[r.chain].push_back(&r);
  for (const RuleShape& r : found.rules) have_rules[r.chain].push_back(&r);
  std::map<std::string, const ChainShape*> have_chains;
  for (const ChainShape& c : found.chains) have_chains.emplace(c.name, &c);
  for (const ChainShape& c : want.chains) {
    auto it = have_chains.find(c.name);
    if (it == have_chains.end()) {
      out.push_back({absl::StrCat("chain ", c.name), Describe(c), ""});
      continue;
    }
    if (!(*it->second == c)) {
      out.push_back({absl::StrCat("chain ", c.name), Describe(c), Describe(*it->second)});
    }
    CompareRules(c.name, want_rules[c.name], have_rules[c.name], out);
    have_chains.erase(it);
  }
  for (const auto& [name, c] : have_chains) {
    out.push_back({absl::StrCat("chain ", name), "",
                   absl::StrCat(Describe(*c), " with ", have_rules[name].size(), " rules")});
  }
  std::map<std::string, const SetShape*> have_sets;
  for (const SetShape& s : found.sets) have_sets.emplace(s.name, &s);
  for (const SetShape& s : want.sets) {
    auto it = have_sets.find(s.name);
    if (it == have_sets.end()) {
      out.push_back({Noun(s), Describe(s), ""});
    } else {
      if (!(*it->second == s)) out.push_back({Noun(s), Describe(s), Describe(*it->second)});
      have_sets.erase(it);
    }
  }
  for (const auto& [name, s] : have_sets) out.push_back({Noun(*s), "", Describe(*s)});
  return out;
}

bool SetReadable(const TableShape& found, const std::string& set_name) {
  return SetReadable(found, ExpectedShape(), set_name);
}

bool SetReadable(const TableShape& found, const TableShape& want_shape,
                 const std::string& set_name) {
  for (const SetShape& want : want_shape.sets) {
    if (want.name != set_name) continue;
    return std::any_of(found.sets.begin(), found.sets.end(),
                       [&](const SetShape& s) { return s == want; });
  }
  return false;
}

}  // namespace ferry::agent::nft
