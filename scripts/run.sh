#!/usr/bin/env bash
# Ferry's one entry point for a fresh Debian 12 machine (run as root):
#   scripts/run.sh demo    install what is missing, build, run the seed demo
#   scripts/run.sh test    install what is missing, build, run every test
#   scripts/run.sh bench   install, build, run the benchmarks
#   scripts/run.sh build   install and build only
#   scripts/run.sh package install, build, write Debian packages into dist/
# (scripts/format.sh formats the C++; `--check` is part of `test`.)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
# Build and runtime dependencies, all from Debian bookworm. --no-install-recommends
# keeps apt from pulling in a kernel image.
PACKAGES=(
  build-essential cmake pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libmnl-dev libnftnl-dev libyaml-cpp-dev libsqlite3-dev
  libgtest-dev libgmock-dev libssl-dev
  # tcmalloc, the daemons' allocator (CMakeLists.txt)
  libgoogle-perftools-dev
  # for the namespace tests and the demo
  iproute2 nftables wireguard-go wireguard-tools iputils-ping procps curl python3
  # the durability test reads and damages the store with the sqlite3 tool
  sqlite3
  # promtool, to test the shipped alerting rules
  prometheus
  # the web dashboard's browser test (tests/e2e/dashboard_test.sh)
  chromium
  # the benchmarks' linear-rule reference
  iptables
  # the test command fails on unformatted C++ (scripts/format.sh --check)
  clang-format
  # scripts/run.sh package and tests/e2e/package_test.sh: dpkg-shlibdeps,
  # systemd-analyze verify/security, systemd-sysusers/-tmpfiles
  dpkg-dev systemd
  # the etcd backend's tests and lab: a real etcd cluster on loopback
  etcd-server etcd-client
)

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# etcd's v3 API .proto files, from Debian's golang-etcd-server-dev. Only
# that one package is unpacked into the build dir (controller/etcd_proto.cmake):
# installing it would pull ~140 Go source packages and a systemd upgrade.
etcd_api() {
  local root=/usr/share/gocode/src/go.etcd.io/etcd
  if [[ ! -f $root/etcdserver/etcdserverpb/rpc.proto ]]; then
    local dir=$PWD/$BUILD_DIR/etcd-api
    root=$dir/usr/share/gocode/src/go.etcd.io/etcd
    if [[ ! -f $root/etcdserver/etcdserverpb/rpc.proto ]]; then
      local tmp
      tmp=$(mktemp -d)
      # apt drops root to _apt to download, which must be able to write here.
      chown _apt "$tmp" 2>/dev/null || chmod 0777 "$tmp"
      (cd "$tmp" && apt-get download -q golang-etcd-server-dev >&2 ||
        { apt-get update -q >&2 && apt-get download -q golang-etcd-server-dev >&2; })
      mkdir -p "$dir"
      dpkg-deb -x "$tmp"/golang-etcd-server-dev_*.deb "$dir"
      rm -rf "$tmp"
    fi
  fi
  export FERRY_ETCD_PROTO_ROOT=$root
}

build() {
  etcd_api
  local launcher=()
  # A developer's ccache, when there is one, shares objects between build dirs.
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFERRY_ETCD_PROTO_ROOT="$FERRY_ETCD_PROTO_ROOT" "${launcher[@]}" >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)"
}

case "${1:-}" in
  build) install_deps; build ;;
  demo) install_deps; build; FERRY_BIN=$PWD/$BUILD_DIR/bin bash scripts/demo.sh ;;
  test)
    install_deps
    # Unformatted code fails the run before anything is built.
    scripts/format.sh --check
    build
    # The fuzzers first (their own clang build, bounded time), so that
    # ctest's summary is the run's last word.
    FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz.sh
    cd "$BUILD_DIR" && ctest --output-on-failure --timeout 900 ;;
  bench) install_deps; build; "$BUILD_DIR/bin/ferry-bench" "${@:2}" ;;
  package)
    # Debian packages into dist/: ferry-controller (with ferryctl) and
    # ferry-agent, Depends from dpkg-shlibdeps (CMakeLists.txt, CPack).
    install_deps
    build
    rm -rf "$BUILD_DIR/cpack" dist/ferry-*.deb && mkdir -p dist
    cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$(cd "$BUILD_DIR" && pwd)/cpack"
    cp "$BUILD_DIR"/cpack/*.deb dist/
    ls -l dist/*.deb ;;
  *) echo "usage: scripts/run.sh demo|test|bench|build|package" >&2; exit 2 ;;
esac
