# SPDX-License-Identifier: Apache-2.0
# What the root-only scripts share (boot-test.sh, upgrade-test.sh,
# install-test.sh, cross-build.sh): a throwaway Debian 12 root in a temp dir, made by
# debootstrap from the mirror apt uses, entered in a private mount
# namespace, removed on exit. Sourced, never run:
#
#   cd "$(dirname "$0")/.."; . scripts/root-common.sh
#   root_init NAME                 root checked, $mirror ($MIRROR or apt's)
#   root_need PKG...               apt-get install what the host lacks
#   root_debs DIR                  $debdir, $debs: exactly one restockd_*.deb
#   root_workdir                   $work (KEEP=1 keeps it), $t0; cleanup on exit
#   root_debootstrap DIR [OPT...]  bookworm minbase into DIR (DEBOOTSTRAP_CACHE), $t1
#   ... unshare --mount --fork bash -c '. "$common"; root_mounts "$root" ...' ...
#   root_apt_install ROOT DEB...   apt-get install DEBs (paths inside ROOT) in a chroot
#   root_check_unit ROOT NAME AFTER  a oneshot NAME.service running /usr/local/sbin/NAME
#                                  at boot, after the units AFTER
#   root_boot ROOT SECS RESULT     boot ROOT with systemd (nspawn, private network) for
#                                  at most SECS; exit 1 unless the checks wrote ROOT/RESULT
#   root_fails RESULT              0 when RESULT's "fails=" line says 0, else 1
#   root_verdict RC [TEXT]         "NAME: OK|FAILED in N s [TEXT]"
#
# Inside the namespace (source this file there too: $root_common is its path):
#   root_mounts ROOT [--sys]       proc, dev, a tmpfs on run (and sysfs)
#   root_chroot ROOT [VAR=V...] CMD...  CMD in ROOT with a clean environment
# shellcheck disable=SC2034 # used by the scripts that source this file
root_common=$PWD/scripts/root-common.sh

# Name the script in messages, refuse to run without root, find the mirror.
root_init() {
  root_prog=$1
  if [ "$(id -u)" -ne 0 ]; then
    echo "$root_prog: needs root (debootstrap, chroot, mount namespaces)" >&2
    exit 2
  fi
  mirror=${MIRROR:-$(scripts/apt-mirror.sh)}
}

# apt-get install the packages the host does not have yet.
root_need() {
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      apt-get update -q
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p"
    fi
  done
}

# $debdir (absolute) and $debs, the one restockd_*.deb in it; exit 2 otherwise.
root_debs() {
  debdir=$(cd "$1" && pwd)
  shopt -s nullglob
  debs=("$debdir"/restockd_*.deb)
  if [ ${#debs[@]} -ne 1 ]; then
    echo "$root_prog: expected one restockd_*.deb in $debdir (run scripts/build-deb.sh)" >&2
    exit 2
  fi
}

root_cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    echo "$root_prog: root kept in $work/root"
  # only once the namespace (and its mounts) is gone: never remove below a mount
  elif grep -q " $work/" /proc/self/mountinfo; then
    echo "$root_prog: mounts left below $work; not removing it" >&2
  else
    rm -rf "$work"
  fi
}

# A temp dir $work for the root and the logs, removed on exit (see root_cleanup); $t0 now.
root_workdir() {
  t0=$(date +%s)
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/restock-$root_prog.XXXXXX")
  trap root_cleanup EXIT
}

# debootstrap bookworm (minbase, and OPT...) into DIR from $mirror; the host's
# resolv.conf copied in; $t1 when done. The log's tail on failure, then exit 1.
root_debootstrap() {
  local dir=$1 cache_args=()
  shift
  if [ -n "${DEBOOTSTRAP_CACHE:-}" ]; then
    mkdir -p "$DEBOOTSTRAP_CACHE"
    cache_args=(--cache-dir="$DEBOOTSTRAP_CACHE")
  fi
  echo "== debootstrap bookworm (minbase${*:+ $*}) into $dir"
  debootstrap "${cache_args[@]}" --variant=minbase "$@" bookworm "$dir" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log"; exit 1; }
  t1=$(date +%s)
  echo "debootstrap: $((t1 - t0)) s"
  cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
}

# In a private mount namespace: what a chroot into ROOT needs (--sys: sysfs too).
root_mounts() {
  local root=$1
  mount --make-rprivate /
  mount -t proc proc "$root/proc"
  [ "${2:-}" != --sys ] || mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/run"
}

# CMD in ROOT with a clean environment (and the VAR=V given before it).
root_chroot() {
  local root=$1
  shift
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# apt-get install DEB... (paths inside ROOT) in a chroot, in a private mount
# namespace; the install log's tail on failure, then exit 1.
root_apt_install() {
  local root=$1
  shift
  unshare --mount --fork bash -euo pipefail -c '
    . "$1"
    root=$2
    shift 2
    root_mounts "$root"
    root_chroot "$root" sh -c \
      "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $*" \
      >"$root/tmp/install.log" 2>&1 || { tail -n 30 "$root/tmp/install.log"; exit 1; }' \
    _ "$root_common" "$root" "$@"
}

# A oneshot unit NAME.service in ROOT, wanted by multi-user.target after the
# units AFTER, that runs the check script /usr/local/sbin/NAME (written by the
# caller: it writes its result file and powers the container off).
root_check_unit() {
  local root=$1 name=$2 after=$3
  chmod 0755 "$root/usr/local/sbin/$name"
  cat >"$root/etc/systemd/system/$name.service" <<UNIT
[Unit]
Description=restock $name
After=$after
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/$name
[Install]
WantedBy=multi-user.target
UNIT
  ln -sf "/etc/systemd/system/$name.service" \
    "$root/etc/systemd/system/multi-user.target.wants/$name.service"
}

# Boot ROOT with systemd as PID 1 (systemd-nspawn, private network) for at
# most SECS seconds; the console goes to $work/boot.log. Exit 1 with its tail
# when the checks did not write ROOT/RESULT.
root_boot() {
  local root=$1 secs=$2 result=$3 tb
  tb=$(date +%s)
  timeout "$secs" systemd-nspawn -q -D "$root" --boot --private-network --register=no \
    --keep-unit --console=pipe >"$work/boot.log" 2>&1 </dev/null || true
  echo "boot + checks: $(($(date +%s) - tb)) s"
  if [ ! -f "$root/$result" ]; then
    tail -n 40 "$work/boot.log"
    echo "$root_prog: the checks did not run" >&2
    exit 1
  fi
}

# 0 when the result file's "fails=N" line says 0, 1 otherwise.
root_fails() {
  [ "$(sed -n 's/^fails=//p' "$1")" = 0 ]
}

# The last line: "NAME: OK in N s" (RC 0) or FAILED, and TEXT.
root_verdict() {
  echo "$root_prog: $([ "$1" = 0 ] && echo OK || echo FAILED) in $(($(date +%s) - t0)) s${2:+ $2}"
}
