#!/usr/bin/env bash
# Every flag the shipped deployment files pass exists in the binary they
# start: the systemd units' ExecStart, the keys of the configs they read
# (manifests/config/*.yaml, commented examples too), and the Kubernetes
# manifests' container args. A flag exists when the binary's --help or --helpfull output names
# it, dashed or with underscores (absl prints --data_dir for --data-dir).
# A flag that is not there fails the test, naming the file and line; a
# control run with a made-up flag shows the check can fail. Needs no root.
set -euo pipefail
FERRY_SRC=${FERRY_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
FERRY_BIN=${FERRY_BIN:-$FERRY_SRC/build/bin}
M=$FERRY_SRC/manifests

T=$(mktemp -d /tmp/ferry-flags.XXXXXX)
trap 'rm -rf "$T"' EXIT

declare -A HELP
for bin in ferry-controller ferry-agent ferryctl; do
  [[ -x $FERRY_BIN/$bin ]] || { echo "FAIL: $FERRY_BIN/$bin not built" >&2; exit 1; }
  # Exit codes vary by binary (absl's --helpfull exits 1); the text is what counts.
  HELP[$bin]=$({ "$FERRY_BIN/$bin" --help 2>&1 || true; "$FERRY_BIN/$bin" --helpfull 2>&1 || true; })
done

# Lines "binary<TAB>flag<TAB>where" in $T/flags.
: >"$T/flags"
add() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$T/flags"; }
flags_in() { grep -oE -- '(^|[[:space:]"])--[a-z][a-z0-9_-]*' <<<"$1" | sed 's/^[[:space:]"]*--//' || true; }

# systemd units: ExecStart with its continuation lines joined.
for unit in "$M"/systemd/*.service; do
  exec_line=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$unit" | grep -n '^ExecStart=' || true)
  [[ -n $exec_line ]] || { echo "FAIL: $unit has no ExecStart" >&2; exit 1; }
  lineno=${exec_line%%:*}
  cmd=${exec_line#*:ExecStart=}
  bin=$(basename "${cmd%% *}")
  for f in $(flags_in "$cmd"); do add "$bin" "$f" "${unit#"$FERRY_SRC"/}:$lineno"; done
done

# The shipped configs (--config): every key, and every commented-out
# "# key: value" example, is a flag of its daemon.
for conf in "$M"/config/*.yaml; do
  bin=ferry-$(basename "$conf" .yaml)
  while IFS=: read -r lineno key; do
    add "$bin" "$key" "${conf#"$FERRY_SRC"/}:$lineno"
  done < <(awk '/^(# ?)?[a-z][a-z0-9-]*:( |$)/ { k = $0; sub(/^# ?/, "", k); sub(/:.*/, "", k); print NR ":" k }' "$conf")
done

# Kubernetes: each container's command names the binary; its args list
# items that start with -- are flags. Comments are documentation, not run.
for manifest in "$M"/kubernetes/*.yaml; do
  awk -v file="${manifest#"$FERRY_SRC"/}" '
    /^[[:space:]]*#/ { next }
    /^[[:space:]]*command:/ { bin = ""; if (match($0, /\/usr\/bin\/[a-z-]+/)) bin = substr($0, RSTART + 9, RLENGTH - 9) }
    /^[[:space:]]*-[[:space:]]+"?--[a-z]/ {
      if (bin == "") { printf "?\t%s\t%s:%d (no command: before it)\n", $0, file, NR; next }
      flag = $0; sub(/^[[:space:]]*-[[:space:]]+"?--/, "", flag); sub(/[="[:space:]].*/, "", flag)
      printf "%s\t%s\t%s:%d\n", bin, flag, file, NR
    }' "$manifest" >>"$T/flags"
done

has_flag() { # binary flag
  local under=${2//-/_}
  grep -qE -- "--(${2}|${under})([^a-z0-9_-]|$)" <<<"${HELP[$1]:-}"
}

# The check must be able to fail: a made-up flag is not found.
if has_flag ferry-agent no-such-flag-xyz || has_flag ferry-controller no-such-flag-xyz; then
  echo "FAIL: the help check finds a flag that does not exist" >&2
  exit 1
fi

fails=0
declare -A per_file
while IFS=$'\t' read -r bin flag where; do
  per_file[${where%%:*}]=$((${per_file[${where%%:*}]:-0} + 1))
  if [[ -z ${HELP[$bin]+x} ]]; then
    echo "FAIL: $where: unknown binary '$bin' for --$flag" >&2
    fails=$((fails + 1))
  elif ! has_flag "$bin" "$flag"; then
    echo "FAIL: $where: $bin has no --$flag (not in its --help or --helpfull)" >&2
    fails=$((fails + 1))
  fi
done <"$T/flags"

# Each file passes flags; finding none means the extraction broke.
for f in "$M"/systemd/*.service "$M"/config/*.yaml "$M"/kubernetes/*.yaml; do
  rel=${f#"$FERRY_SRC"/}
  if [[ -z ${per_file[$rel]:-} ]]; then
    echo "FAIL: found no flags in $rel" >&2
    fails=$((fails + 1))
  fi
done

total=$(wc -l <"$T/flags")
if ((fails)); then
  echo "$fails of $total flag uses are wrong" >&2
  exit 1
fi
echo "ok: all $total flag uses in the units, configs and Kubernetes manifests exist:"
for rel in "${!per_file[@]}"; do echo "  $rel: ${per_file[$rel]}"; done | sort
