#!/usr/bin/env bash
# Builds Ferry's libFuzzer targets with Debian's clang and runs each for a
# bounded time on a copy of its seed corpus (tests/fuzz/README.md).
#   FUZZ_SECONDS=30     time per target (libFuzzer -max_total_time)
#   FUZZ_BUILD_DIR=build-fuzz
#   FUZZ_TARGETS="manifest yaml netlink"
#   FUZZ_JOBS=$(nproc)  build parallelism
# Exits non-zero on any crash, leak, timeout or out-of-memory, printing the
# path of the input that caused it.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=(${FUZZ_TARGETS:-manifest yaml netlink})
# clang 14 is bookworm's default clang; libFuzzer and the sanitizer
# runtimes come in libclang-rt-14-dev.
PACKAGES=(clang libclang-rt-14-dev)

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "fuzz: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy clang-14 libclang-rt-14-dev | grep -q 'Candidate: [0-9]'; then
    apt-get update -q
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFERRY_FUZZ=ON -DFERRY_BUILD_TESTS=ON \
    ${FERRY_ETCD_PROTO_ROOT:+-DFERRY_ETCD_PROTO_ROOT="$FERRY_ETCD_PROTO_ROOT"} "${launcher[@]}" >/dev/null
  local targets=()
  for t in "${TARGETS[@]}"; do targets+=(--target "${t}_fuzzer"); done
  cmake --build "$BUILD_DIR" -j"${FUZZ_JOBS:-$(nproc)}" "${targets[@]}"
}

# run_one TARGET WORKDIR: fuzzes one target; returns libFuzzer's status.
run_one() {
  local t=$1 work=$2
  local bin=$BUILD_DIR/bin/${t}_fuzzer
  local corpus=$work/$t
  local artifacts=$PWD/$BUILD_DIR/fuzz-artifacts/$t
  local log=$PWD/$BUILD_DIR/fuzz-logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  # A copy: libFuzzer adds what it finds to its first corpus directory.
  cp -r "tests/fuzz/corpus/$t/." "$corpus/"
  if [[ $t == netlink ]]; then
    "$bin" --write-seeds "$corpus"   # fresh from the current builders
  fi
  local flags=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048
               -print_final_stats=1 -artifact_prefix="$artifacts/")
  [[ -f tests/fuzz/$t.dict ]] && flags+=(-dict="tests/fuzz/$t.dict")
  echo "fuzz: $t for ${FUZZ_SECONDS}s (log $log)"
  local rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$bin" "${flags[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  # Coverage at start and at the end, then libFuzzer's totals.
  { grep -E '^#[0-9]+[[:space:]]+INITED' "$log" | head -n 1
    grep -E '^#[0-9]+[[:space:]].*cov: ' "$log" | tail -n 1
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log"
  } | sed "s/^/fuzz: $t: /" || true
  if ((rc != 0)); then
    echo "fuzz: $t FAILED (exit $rc); last lines of $log:" >&2
    tail -n 40 "$log" >&2
    local found
    found=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
    for f in $found; do
      echo "fuzz: $t: crash input: $f" >&2
      echo "fuzz: reproduce: $bin $f" >&2
    done
  fi
  return "$rc"
}

install_deps
build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for t in "${TARGETS[@]}"; do
  run_one "$t" "$work" || failed+=("$t")
done
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all targets ran ${FUZZ_SECONDS}s without crashes"
