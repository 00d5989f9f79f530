#!/usr/bin/env bash
# The Debian packages, as `scripts/run.sh package` makes them, hold what an
# operator installs: built here with cpack from the existing build tree
# (which it never reconfigures or rebuilds) into a temp dir, extracted with
# dpkg-deb, and checked:
#   - each package's files, exactly, and /etc files listed as conffiles;
#   - the binaries are the build's (same GNU build id), stripped, and answer
#     --help and --version (the CMake project version) with exit 0;
#   - Depends names, with dpkg-shlibdeps' version floor, the package of
#     every shared library each binary names (NEEDED);
#   - the maintainer scripts parse, and the sysusers.d and tmpfiles.d files,
#     applied to a scratch root, make one `ferry` system user and its 0700
#     state dirs;
#   - both units pass `systemd-analyze verify` with nothing to say, score at
#     most 3.0 (controller) and 5.0 (agent) in `systemd-analyze security
#     --offline=yes`, run as User=ferry, the agent with CAP_NET_ADMIN alone
#     (ambient and bounding), the controller with no capability.
# Needs no root and changes nothing outside its temp dir. Skipped (77) when
# cpack, dpkg-shlibdeps or systemd-analyze is missing (Debian packages
# cmake, dpkg-dev, systemd; scripts/run.sh installs them).
set -euo pipefail
FERRY_SRC=${FERRY_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
FERRY_BIN=${FERRY_BIN:-$FERRY_SRC/build/bin}
BUILD_DIR=$(cd "$FERRY_BIN/.." && pwd)

for tool in cpack dpkg-deb dpkg-shlibdeps systemd-analyze systemd-sysusers systemd-tmpfiles readelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not installed (Debian packages cmake, dpkg-dev, systemd, binutils)"
    exit 77
  fi
done

T=$(mktemp -d /tmp/ferry-package.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

VERSION=$(sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' "$FERRY_SRC/CMakeLists.txt")
[[ -n $VERSION ]] || { echo "FAIL: no project version in CMakeLists.txt" >&2; exit 1; }

[[ -f $BUILD_DIR/CPackConfig.cmake ]] || {
  echo "FAIL: $BUILD_DIR/CPackConfig.cmake missing: the build tree was not configured with the install rules" >&2
  exit 1
}
if ! cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$T/out" >"$T/cpack.log" 2>&1; then
  cat "$T/cpack.log" >&2
  echo "FAIL: cpack" >&2
  exit 1
fi

declare -A DEB
for pkg in ferry-controller ferry-agent; do
  DEB[$pkg]=$T/out/${pkg}_${VERSION}-1_amd64.deb
  [[ $(dpkg --print-architecture) == amd64 ]] || DEB[$pkg]=$(ls "$T"/out/"${pkg}"_"${VERSION}"-1_*.deb)
  [[ -f ${DEB[$pkg]} ]] || { echo "FAIL: cpack made no ${pkg}_${VERSION}-1 package" >&2; ls "$T/out" >&2; exit 1; }
  mkdir -p "$T/x/$pkg" "$T/ctl/$pkg" "$T/root"
  dpkg-deb -x "${DEB[$pkg]}" "$T/x/$pkg"
  dpkg-deb -x "${DEB[$pkg]}" "$T/root" # both, as installed on one host
  dpkg-deb -e "${DEB[$pkg]}" "$T/ctl/$pkg"
  got=$(dpkg-deb -f "${DEB[$pkg]}" Package Version)
  [[ $got == "Package: $pkg"$'\n'"Version: $VERSION-1" ]] || fail "$pkg control says: $got"
done

# --- Files -----------------------------------------------------------------
expect_files() { # pkg component files...
  local pkg=$1 component=$2
  shift 2
  local want=("$@" "usr/lib/systemd/system/$pkg.service" "usr/lib/sysusers.d/$pkg.conf"
    "usr/lib/tmpfiles.d/$pkg.conf" "etc/ferry/$component.yaml")
  cmp -s "$FERRY_SRC/manifests/config/$component.yaml" "$T/x/$pkg/etc/ferry/$component.yaml" ||
    fail "$pkg: /etc/ferry/$component.yaml differs from manifests/config/$component.yaml"
  local got_list want_list
  got_list=$(cd "$T/x/$pkg" && find . -type f -printf '%P\n' | sort)
  want_list=$(printf '%s\n' "${want[@]}" | sort)
  if [[ $got_list == "$want_list" ]]; then
    ok "$pkg holds exactly: $(echo $want_list)"
  else
    fail "$pkg files: got [$(echo $got_list)], want [$(echo $want_list)]"
  fi
  # Every /etc file is a conffile (kept across upgrades when edited), and
  # nothing else is.
  local etc_files conffiles
  etc_files=$(printf '%s\n' "${want[@]}" | grep '^etc/' | sed 's|^|/|' | sort)
  conffiles=$(sort "$T/ctl/$pkg/conffiles" 2>/dev/null || true)
  [[ $conffiles == "$etc_files" ]] || fail "$pkg conffiles [$(echo $conffiles)], want [$(echo $etc_files)]"
  for s in postinst prerm postrm; do
    [[ -x $T/ctl/$pkg/$s ]] || { fail "$pkg: no executable $s"; continue; }
    sh -n "$T/ctl/$pkg/$s" || fail "$pkg: $s does not parse"
  done
  grep -q "systemd-sysusers $pkg.conf" "$T/ctl/$pkg/postinst" || fail "$pkg postinst does not run its sysusers.d file"
  grep -q "systemd-tmpfiles --create $pkg.conf" "$T/ctl/$pkg/postinst" || fail "$pkg postinst does not run its tmpfiles.d file"
}
expect_files ferry-controller controller usr/bin/ferry-controller usr/bin/ferryctl
expect_files ferry-agent agent usr/bin/ferry-agent

# --- Binaries ----------------------------------------------------------------
build_id() { readelf -n "$1" | sed -n 's/.*Build ID: //p'; }
declare -A BIN_PKG=([ferry-controller]=ferry-controller [ferryctl]=ferry-controller [ferry-agent]=ferry-agent)
for bin in ferry-controller ferryctl ferry-agent; do
  f=$T/x/${BIN_PKG[$bin]}/usr/bin/$bin
  [[ -f $f ]] || continue
  [[ $(build_id "$f") == "$(build_id "$FERRY_BIN/$bin")" ]] ||
    fail "$bin in the package is not $FERRY_BIN/$bin (build ids differ)"
  readelf -S "$f" | grep -q '\.debug_info' && fail "$bin is not stripped"
  out=$("$f" --help 2>&1) && rc=0 || rc=$?
  [[ $rc == 0 ]] || fail "packaged $bin --help exits $rc: $(head -3 <<<"$out")"
  out=$("$f" --version 2>&1) && rc=0 || rc=$?
  if [[ $rc == 0 && $out == *"$VERSION"* ]]; then
    ok "packaged $bin --help and --version ($VERSION) exit 0"
  else
    fail "packaged $bin --version: exit $rc, '$(head -3 <<<"$out")', want $VERSION"
  fi
done

# --- Depends -----------------------------------------------------------------
# The package that holds a library: dpkg -S on the path ldd resolved, or on
# its /usr twin (merged /usr: /lib is /usr/lib), or on where it links to.
lib_package() {
  local p=$1 cand
  for cand in "$p" "/usr$p" "${p#/usr}" "$(readlink -f "$p")" "/usr$(readlink -f "$p")"; do
    dpkg -S "$cand" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
  done
  return 1
}
for pkg in ferry-controller ferry-agent; do
  depends=$(dpkg-deb -f "${DEB[$pkg]}" Depends)
  missing=()
  for f in "$T/x/$pkg"/usr/bin/*; do
    # The libraries the binary itself names (NEEDED), where ldd finds them;
    # theirs in turn come with their own packages' Depends.
    needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    while read -r lib; do
      owner=$(lib_package "$lib") || { fail "$pkg: no Debian package owns $lib"; continue; }
      # shlibdeps form: "owner (>= version)", owner possibly arch-qualified.
      grep -Eq "(^|, )${owner//+/\\+}(:[a-z0-9]+)? \(>= [^)]+\)" <<<"$depends" || missing+=("$owner ($lib)")
    done < <(ldd "$f" | awk -v needed="$needed" 'BEGIN { n = split(needed, a, "\n"); for (i = 1; i <= n; i++) want[a[i]] = 1 }
                          $2 == "=>" && ($1 in want) && $3 ~ /^\// { print $3 }')
  done
  if ((${#missing[@]})); then
    fail "$pkg Depends [$depends] lacks: ${missing[*]}"
  else
    ok "$pkg Depends names every loaded library's package: $depends"
  fi
done
dep_controller=$(dpkg-deb -f "${DEB[ferry-controller]}" Depends)
dep_agent=$(dpkg-deb -f "${DEB[ferry-agent]}" Depends)
for want in 'libsqlite3-0 ' 'libgrpc\+\+1\.51 ' 'libprotobuf32 ' 'libssl3 '; do
  grep -Eq "$want" <<<"$dep_controller" || fail "ferry-controller Depends lacks ${want% }: $dep_controller"
done
for want in 'libnftnl11 ' 'libmnl0 ' 'libgrpc\+\+1\.51 ' 'libssl3 '; do
  grep -Eq "$want" <<<"$dep_agent" || fail "ferry-agent Depends lacks ${want% }: $dep_agent"
done

# --- The ferry user and its directories, in a scratch root -------------------
mkdir -p "$T/root/etc"
systemd-sysusers --root="$T/root" ferry-controller.conf ferry-agent.conf >"$T/sysusers.log" 2>&1 ||
  fail "systemd-sysusers: $(cat "$T/sysusers.log")"
ferry_pw=$(grep '^ferry:' "$T/root/etc/passwd" || true)
IFS=: read -r _ _ uid gid _ home shell <<<"$ferry_pw"
if [[ $(grep -c '^ferry:' "$T/root/etc/passwd") == 1 && $uid -lt 1000 && $uid -gt 0 &&
  $shell == */nologin && $(grep -c "^ferry:x:$gid:" "$T/root/etc/group") == 1 ]]; then
  ok "sysusers.d makes one system user ferry (uid $uid, group $gid, $home, $shell)"
else
  fail "sysusers.d: passwd has [$ferry_pw]"
fi
systemd-tmpfiles --root="$T/root" --create ferry-controller.conf ferry-agent.conf >"$T/tmpfiles.log" 2>&1 ||
  fail "systemd-tmpfiles: $(cat "$T/tmpfiles.log")"
for d in var/lib/ferry var/log/ferry var/lib/ferry-agent; do
  got=$(stat -c '%a %u %g' "$T/root/$d" 2>/dev/null || echo missing)
  [[ $got == "700 $uid $gid" ]] || fail "/$d: $got, want 700 ferry ferry"
done
ok "tmpfiles.d makes /var/lib/ferry, /var/log/ferry, /var/lib/ferry-agent 0700 ferry:ferry"

# postinst on "configure", with the commands it may run replaced by stubs
# that record their arguments: with systemd's tools, and without (adduser).
postinst_calls() { # pkg stub...
  local pkg=$1 stubs=$T/stubs-$RANDOM
  shift
  mkdir -p "$stubs"
  for s in "$@"; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n[ "%s" != getent ]\n' "$s" "$stubs/calls" "$s" >"$stubs/$s"
    chmod +x "$stubs/$s"
  done
  : >"$stubs/calls"
  PATH=$stubs /bin/sh "$T/ctl/$pkg/postinst" configure "" || fail "$pkg postinst configure exits $?"
  cat "$stubs/calls"
}
calls=$(postinst_calls ferry-agent systemd-sysusers systemd-tmpfiles adduser install getent)
[[ $calls == $'systemd-sysusers ferry-agent.conf\nsystemd-tmpfiles --create ferry-agent.conf' ]] ||
  fail "ferry-agent postinst with systemd ran: [$calls]"
calls=$(postinst_calls ferry-controller adduser install getent)
want='getent passwd ferry
adduser --system --group --home /var/lib/ferry --no-create-home --gecos Ferry daemons --quiet ferry
install -d -m 0700 -o ferry -g ferry /var/lib/ferry
install -d -m 0700 -o ferry -g ferry /var/log/ferry'
[[ $calls == "$want" ]] || fail "ferry-controller postinst without systemd ran: [$calls], want [$want]"
ok "postinst makes the user and dirs with systemd-sysusers/-tmpfiles, or adduser and install"

# --- Units ---------------------------------------------------------------------
# The unit's settings, with continuation lines joined.
unit_values() { # file key
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$1" | sed -n "s/^$2=//p"
}
declare -A MAX_EXPOSURE=([ferry-controller]=3.0 [ferry-agent]=5.0)
for pkg in ferry-controller ferry-agent; do
  unit=$T/x/$pkg/usr/lib/systemd/system/$pkg.service
  [[ -f $unit ]] || continue
  # verify checks ExecStart's binary exists and is executable: point it at
  # the extracted one. Any output (an unknown key, a bad value) fails.
  mkdir -p "$T/verify"
  sed "s|/usr/bin/|$T/root/usr/bin/|g" "$unit" >"$T/verify/$pkg.service"
  if out=$(cd "$T" && systemd-analyze verify "$T/verify/$pkg.service" 2>&1) && [[ -z $out ]]; then
    ok "$pkg.service passes systemd-analyze verify"
  else
    fail "$pkg.service: systemd-analyze verify says: $out"
  fi
  out=$(cd "$T" && systemd-analyze security --offline=yes "$unit" 2>&1 || true)
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
  if [[ -n $score ]] && awk -v s="$score" -v m="${MAX_EXPOSURE[$pkg]}" 'BEGIN { exit !(s <= m) }'; then
    ok "$pkg.service exposure $score <= ${MAX_EXPOSURE[$pkg]}"
  else
    fail "$pkg.service exposure '${score:-none}', want <= ${MAX_EXPOSURE[$pkg]}: $(tail -3 <<<"$out")"
  fi
  [[ $(unit_values "$unit" User) == ferry && $(unit_values "$unit" Group) == ferry ]] ||
    fail "$pkg.service: User=$(unit_values "$unit" User) Group=$(unit_values "$unit" Group), want ferry"
  grep -q '^DynamicUser=' "$unit" && fail "$pkg.service sets DynamicUser= (the ferry user owns the state)"
  [[ $(unit_values "$unit" ExecStart) == "/usr/bin/$pkg --config /etc/ferry/${pkg#ferry-}.yaml" ]] ||
    fail "$pkg.service: ExecStart=$(unit_values "$unit" ExecStart), want /usr/bin/$pkg --config /etc/ferry/${pkg#ferry-}.yaml"
done
# The shipped configs write only where the units let them (ProtectSystem=strict).
cconf=$T/x/ferry-controller/etc/ferry/controller.yaml
aconf=$T/x/ferry-agent/etc/ferry/agent.yaml
cunit=$T/x/ferry-controller/usr/lib/systemd/system/ferry-controller.service
aunit=$T/x/ferry-agent/usr/lib/systemd/system/ferry-agent.service
if grep -qx 'data-dir: /var/lib/ferry' "$cconf" && [[ $(unit_values "$cunit" StateDirectory) == ferry ]] &&
  grep -qx 'audit-log: /var/log/ferry/audit.log' "$cconf" && [[ $(unit_values "$cunit" LogsDirectory) == ferry ]] &&
  grep -qx '  - unix:/run/ferry/ferry.sock' "$cconf" && [[ $(unit_values "$cunit" RuntimeDirectory) == ferry ]] &&
  grep -qx 'state-dir: /var/lib/ferry-agent' "$aconf" && [[ $(unit_values "$aunit" StateDirectory) == ferry-agent ]]; then
  ok "the configs' data-dir, audit-log, unix socket and state-dir are the units' State/Logs/RuntimeDirectory"
else
  fail "the shipped configs' paths and the units' StateDirectory/LogsDirectory/RuntimeDirectory disagree"
fi
agent=$T/x/ferry-agent/usr/lib/systemd/system/ferry-agent.service
controller=$T/x/ferry-controller/usr/lib/systemd/system/ferry-controller.service
if [[ $(unit_values "$agent" AmbientCapabilities) == CAP_NET_ADMIN &&
  $(unit_values "$agent" CapabilityBoundingSet) == CAP_NET_ADMIN ]]; then
  ok "ferry-agent.service: CAP_NET_ADMIN alone, ambient and bounding"
else
  fail "ferry-agent.service: AmbientCapabilities=[$(unit_values "$agent" AmbientCapabilities)]" \
    "CapabilityBoundingSet=[$(unit_values "$agent" CapabilityBoundingSet)], want CAP_NET_ADMIN each, once"
fi
if [[ $(unit_values "$controller" CapabilityBoundingSet) == "" &&
  $(unit_values "$controller" CapabilityBoundingSet | wc -l) == 1 &&
  -z $(unit_values "$controller" AmbientCapabilities) ]]; then
  ok "ferry-controller.service: no capabilities"
else
  fail "ferry-controller.service: CapabilityBoundingSet=[$(unit_values "$controller" CapabilityBoundingSet)]" \
    "AmbientCapabilities=[$(unit_values "$controller" AmbientCapabilities)], want both empty"
fi

# --- dpkg -i, -r and -P in a throwaway root ---------------------------------
# An overlay over / in a private mount namespace: the real maintainer
# scripts run with the host's dpkg database and tools, and every change
# lands in $T/ovl/up, so the host is untouched; in between, the installed
# controller runs from its packaged config as the ferry user (in a private
# network namespace) and serves ferryctl. Needs root and overlayfs.
install_check() {
  local o=$T/ovl
  mkdir -p "$o/up" "$o/work" "$o/merged"
  cp "${DEB[ferry-controller]}" "${DEB[ferry-agent]}" "$T/"
  unshare -m -n sh -ec '
    ip link set lo up
    mount --make-rprivate /
    mount -t overlay overlay -o "lowerdir=/,upperdir=$1/up,workdir=$1/work" "$1/merged"
    mount -t proc proc "$1/merged/proc"
    mount --bind /dev "$1/merged/dev"
    mkdir -p "$1/merged/tmp/debs"
    cp "$2"/*.deb "$1/merged/tmp/debs/"
    chroot "$1/merged" sh -ec "
      getent passwd ferry >/dev/null && { echo ferry exists before install; exit 1; }
      dpkg -i /tmp/debs/*.deb >/dev/null
      getent passwd ferry | cut -d: -f1,6,7
      stat -c \"%n %a %U:%G\" /var/lib/ferry /var/log/ferry /var/lib/ferry-agent
      # The controller from its packaged config, as the unit runs it: the
      # ferry user, no capabilities, umask 077, /run/ferry made for it.
      install -d -m 0750 -o ferry -g ferry /run/ferry
      setpriv --reuid ferry --regid ferry --clear-groups --inh-caps=-all --bounding-set=-all \\
        --no-new-privs sh -c \"umask 077; exec ferry-controller --config /etc/ferry/controller.yaml\" \\
        >/tmp/controller.log 2>&1 &
      i=0
      until ferryctl --server unix:/run/ferry/ferry.sock get nodes >/dev/null 2>&1; do
        i=\$((i + 1)); [ \$i -lt 100 ] || { cat /tmp/controller.log >&2; exit 1; }; sleep 0.1
      done
      echo controller serves
      stat -c \"%n %a %U:%G\" /var/lib/ferry/ferry.db /run/ferry/ferry.sock
      kill \$! && wait \$! || true
      dpkg -r ferry-agent ferry-controller >/dev/null
      ls /etc/ferry
      dpkg -P ferry-agent ferry-controller >/dev/null
      test ! -e /etc/ferry && echo purged
    "' sh "$o" "$T"
}
if [[ $(id -u) != 0 ]] || ! unshare -m true 2>/dev/null || ! grep -qw overlay /proc/filesystems; then
  echo "skipped: dpkg -i in a throwaway root (needs root, unshare and overlayfs)"
elif out=$(install_check 2>"$T/install.log") && [[ $out == "ferry:/var/lib/ferry:/usr/sbin/nologin
/var/lib/ferry 700 ferry:ferry
/var/log/ferry 700 ferry:ferry
/var/lib/ferry-agent 700 ferry:ferry
controller serves
/var/lib/ferry/ferry.db 600 ferry:ferry
/run/ferry/ferry.sock 660 ferry:ferry
agent.yaml
controller.yaml
purged" ]]; then
  ok "dpkg -i makes the ferry user and its 0700 dirs, the controller serves from its config as ferry; -r keeps /etc/ferry's conffiles; -P removes them"
else
  fail "dpkg -i/-r/-P in a throwaway root: $out $(cat "$T/install.log")"
fi

if ((FAILS)); then
  echo "$FAILS check(s) failed" >&2
  exit 1
fi
echo "ok: ferry-controller and ferry-agent $VERSION packages"
