#include "controller/cli/completion.h"

namespace ferry::cli {
namespace {

// bash; zsh loads it through bashcompinit.
constexpr char kBash[] = R"sh(# ferryctl completion for bash. Load with:
#   source <(ferryctl completion bash)
__ferryctl_names() {
  local kind="$1" conn=() i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      --server|--config) conn+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}") ;;
      --server=*|--config=*) conn+=("${COMP_WORDS[i]}") ;;
    esac
  done
  ferryctl "${conn[@]}" --request-timeout 2s get "$kind" -o name 2>/dev/null | sed 's|^[^/]*/||'
}

_ferryctl() {
  local cur prev verb kind i
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local verbs="apply diff get describe delete edit explain wait label token credentials version completion help"
  local kinds="forwards nodes events"
  local global="--server --config --request-timeout --help"
  case "$prev" in
    -o|--output)
      COMPREPLY=($(compgen -W "yaml json wide name jsonpath= custom-columns=" -- "$cur")); return ;;
    -f|--filename|--config)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --role) COMPREPLY=($(compgen -W "viewer editor admin" -- "$cur")); return ;;
    --for) COMPREPLY=($(compgen -W "condition=Ready condition=Drifted delete" -- "$cur")); return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      --server|--config|--request-timeout|-o|--output|-l|--selector|-f|--filename|--for|--timeout|--sort-by|--node|--ttl|--role) ((i++)) ;;
      -*) ;;
      *) if [[ -z "$verb" ]]; then verb="${COMP_WORDS[i]}"; elif [[ -z "$kind" ]]; then kind="${COMP_WORDS[i]}"; fi ;;
    esac
  done
  if [[ -z "$verb" ]]; then
    COMPREPLY=($(compgen -W "$verbs $global --version" -- "$cur")); return
  fi
  local flags="$global"
  case "$verb" in
    get) flags="$flags -o --output -l --selector -w --watch --timeout --no-headers --show-labels --sort-by --for" ;;
    delete) flags="$flags -f --filename --ignore-not-found --all -l --selector" ;;
    apply) flags="$flags -f --filename --dry-run" ;;
    diff) flags="$flags -f --filename" ;;
    wait) flags="$flags --all --for --timeout" ;;
    label) flags="$flags --overwrite" ;;
    version) flags="$flags --client" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur")); return
  fi
  case "$verb" in
    completion) [[ -z "$kind" ]] && COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
    explain) COMPREPLY=($(compgen -W "ipforward ipforward.spec ipforward.status node node.spec node.status" -- "$cur")); return ;;
    get|describe|delete|edit|wait|label)
      if [[ -z "$kind" ]]; then
        COMPREPLY=($(compgen -W "$kinds" -- "$cur"))
      elif [[ "$verb" != "label" || "$prev" == "$kind" ]]; then
        COMPREPLY=($(compgen -W "$(__ferryctl_names "$kind")" -- "$cur"))
      fi ;;
  esac
}
complete -F _ferryctl ferryctl
)sh";

constexpr char kZshPrelude[] = R"sh(#compdef ferryctl
# ferryctl completion for zsh. Load with:
#   source <(ferryctl completion zsh)
autoload -U +X bashcompinit && bashcompinit
)sh";

}  // namespace

std::string CompletionScript(absl::string_view shell) {
  if (shell == "zsh") return std::string(kZshPrelude) + kBash;
  return kBash;
}

}  // namespace ferry::cli
