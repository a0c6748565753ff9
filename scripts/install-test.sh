#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the built .deb files into a throwaway Debian 12 root and check the
# result, then purge and check that nothing is left. Nothing here touches the
# host's own /etc or /var: the root is made by debootstrap (bookworm,
# minbase) in a temp dir, and every mount lives in a private mount namespace
# (unshare --mount), so it vanishes with the script, even on failure.
#
# Checks: files in place; the _restock system user (home /var/lib/restock, no
# login shell); conffiles listed by dpkg-query; the unit is enabled and
# passes systemd-analyze verify; `restockd --check --config /etc/restock`
# passes on the shipped config (as root and as _restock); restockd starts
# and stops as _restock and creates its database; a reinstall (upgrade path)
# keeps a locally edited conffile; `apt-get purge` removes /etc/restock,
# /var/lib/restock, the unit and its enable link. The _restock user is kept
# on purge (Debian practice; docs/operations.md).
#
# Usage: scripts/install-test.sh [DIR-WITH-DEBS] (default out/deb)
# Environment:
#   MIRROR     Debian mirror (default: the one apt uses, scripts/apt-mirror.sh)
#   DEBOOTSTRAP_CACHE  absolute dir to keep debootstrap's downloaded .debs in
#   KEEP=1     keep the root dir (its path is printed)
# Needs root (debootstrap, chroot, unshare) and network to the mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/root-common.sh
root_init install-test
root_debs "${1:-out/deb}"
sim_debs=("$debdir"/restock-sim_*.deb)
root_need debootstrap util-linux
root_workdir
root_debootstrap "$work/root"

mkdir -p "$work/root/tmp/debs"
cp "${debs[@]}" "${sim_debs[@]}" "$work/root/tmp/debs/"

# The test itself runs inside a private mount namespace.
cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
. "$1"
root=$2
root_mounts "$root" --sys

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { # description command...
  local d=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi
}
in_root() { root_chroot "$root" "$@"; }

ta=$(date +%s)
echo "== apt-get install ./restockd*.deb ./restock-sim*.deb (dependencies from the mirror)"
in_root apt-get update -q >/dev/null
# man-db: so that the unit's Documentation=man:... is checked too
in_root apt-get install -y -q --no-install-recommends man-db >"$root/tmp/apt-man.log" 2>&1 || {
  tail -n 20 "$root/tmp/apt-man.log"; exit 1; }
in_root sh -c 'apt-get install -y -q --no-install-recommends /tmp/debs/*.deb' >"$root/tmp/apt-install.log" 2>&1 || {
  tail -n 40 "$root/tmp/apt-install.log"; exit 1; }
tb=$(date +%s)
echo "install: $((tb - ta)) s"

echo "== files"
for f in /usr/sbin/restockd /usr/bin/restockctl /lib/systemd/system/restockd.service \
         /usr/lib/sysusers.d/restockd.conf /etc/restock/restock.yaml \
         /etc/restock/devices.d/README /etc/restock/rules.d/README \
         /usr/share/man/man8/restockd.8.gz /usr/share/man/man1/restockctl.1.gz \
         /usr/share/doc/restockd/copyright /usr/share/doc/restockd/operations.md.gz; do
  check "file $f" test -e "$root$f"
done
check "no device enabled (devices.d has no *.yaml)" \
  sh -c "! ls $root/etc/restock/devices.d/*.yaml $root/etc/restock/devices.d/*.yml 2>/dev/null | grep -q ."
check "no commerce section (advisory)" sh -c "! grep -q '^commerce:' $root/etc/restock/restock.yaml"
if ls "$root"/tmp/debs/restock-sim_*.deb >/dev/null 2>&1; then
  check "file /usr/bin/restock-sim" test -x "$root/usr/bin/restock-sim"
  check "restock-sim --help" in_root restock-sim --help
fi

echo "== the _restock user"
pw=$(in_root getent passwd _restock || true)
echo "passwd: $pw"
if [ -n "$pw" ]; then
  ok "user _restock exists"
  uid=$(echo "$pw" | cut -d: -f3)
  home=$(echo "$pw" | cut -d: -f6)
  shell=$(echo "$pw" | cut -d: -f7)
  if [ "$uid" -lt 1000 ]; then ok "system uid ($uid)"; else bad "system uid ($uid)"; fi
  if [ "$home" = /var/lib/restock ]; then ok "home /var/lib/restock"; else bad "home is $home"; fi
  case "$shell" in */nologin|/bin/false) ok "no login shell ($shell)" ;; *) bad "login shell $shell" ;; esac
else
  bad "user _restock exists"
fi
check "group _restock exists" in_root getent group _restock

echo "== conffiles (dpkg-query)"
conff=$(in_root dpkg-query -W -f='${Conffiles}\n' restockd)
echo "$conff" | sed '/^$/d'
for f in /etc/restock/restock.yaml /etc/restock/devices.d/README /etc/restock/rules.d/README; do
  if echo "$conff" | grep -q "^ $f "; then ok "conffile $f"; else bad "conffile $f"; fi
done

echo "== systemd unit"
state=$(in_root systemctl is-enabled restockd.service 2>&1 || true)
if [ "$state" = enabled ]; then ok "restockd.service enabled"; else bad "restockd.service is-enabled: $state"; fi
if in_root systemd-analyze verify /lib/systemd/system/restockd.service >"$root/tmp/verify.log" 2>&1; then
  ok "systemd-analyze verify restockd.service"
else
  bad "systemd-analyze verify restockd.service"; cat "$root/tmp/verify.log"
fi

echo "== restockd --check on the shipped config"
out=$(in_root restockd --check --config /etc/restock 2>&1) && rc=0 || rc=$?
echo "$out"
if [ "$rc" = 0 ] && [ "$out" = "OK: 0 devices, 0 points, 0 consumables, 0 rules" ]; then
  ok "restockd --check --config /etc/restock"
else
  bad "restockd --check --config /etc/restock (exit $rc)"
fi
check "restockctl check" in_root restockctl check
check "restockd --check as _restock" in_root runuser -u _restock -- restockd --check --config /etc/restock
ex=/usr/share/doc/restockd/examples
out=$(in_root restockctl --config "$ex" check 2>&1) && rc=0 || rc=$?
if [ "$rc" = 0 ] && [ "${out#OK: }" != "$out" ]; then
  ok "restockctl check on the shipped example plant ($out)"
else
  bad "restockctl check on $ex (exit $rc): $out"
fi
if [ -d "$root$ex/rules" ]; then
  out=$(in_root sh -c "restockctl test-rules $ex/rules/*/test.yaml" 2>&1) && rc=0 || rc=$?
  if [ "$rc" = 0 ]; then ok "restockctl test-rules on the shipped rule examples ($(echo "$out" | tail -n1))"
  else bad "restockctl test-rules (exit $rc)"; echo "$out" | grep -v '^PASS'; fi
fi
check "man restockd renders" sh -c "zcat $root/usr/share/man/man8/restockd.8.gz | grep -q 'restockd'"

echo "== restockd starts and stops as _restock (private network namespace)"
# what StateDirectory=restock would do
install -d -m 0700 "$root/var/lib/restock"
in_root chown _restock:_restock /var/lib/restock
unshare --net sh -c "ip link set lo up 2>/dev/null || true
  chroot '$root' env -i PATH=/usr/sbin:/usr/bin runuser -u _restock -- \
    timeout -s TERM 3 restockd --config /etc/restock" >"$root/tmp/run.log" 2>&1 && rc=0 || rc=$?
cat "$root/tmp/run.log"
# timeout exits 124 when it had to send SIGTERM; restockd itself exits 0
if [ "$rc" = 124 ] && grep -q 'restockd stopped' "$root/tmp/run.log"; then
  ok "restockd ran and stopped on SIGTERM"
else
  bad "restockd run (exit $rc)"
fi
check "database created" test -s "$root/var/lib/restock/restock.db"
owner=$(in_root stat -c '%U %a' /var/lib/restock/restock.db 2>/dev/null || true)
if [ "$owner" = "_restock 600" ]; then ok "database owned by _restock, 0600"; else bad "database owner/mode: $owner"; fi

echo "== reinstall (upgrade path) keeps a local conffile edit"
echo "# local edit" >>"$root/etc/restock/restock.yaml"
in_root sh -c 'dpkg --force-confold -i /tmp/debs/restockd_*.deb' >"$root/tmp/reinstall.log" 2>&1 \
  && ok "dpkg -i again" || { bad "dpkg -i again"; tail "$root/tmp/reinstall.log"; }
check "local edit kept" grep -q '^# local edit' "$root/etc/restock/restock.yaml"
check "database kept over the upgrade" test -s "$root/var/lib/restock/restock.db"

echo "== apt-get purge"
tc=$(date +%s)
in_root apt-get purge -y -q restockd restock-sim >"$root/tmp/purge.log" 2>&1 || {
  tail -n 30 "$root/tmp/purge.log"; bad "apt-get purge"; }
st=$(in_root dpkg-query -W -f='${db:Status-Abbrev}' restockd 2>/dev/null || true)
if [ -z "$st" ] || [ "${st:0:2}" = "un" ] || [ "${st:0:2}" = "pn" ]; then
  ok "restockd not installed (status '${st}')"
else
  bad "restockd status after purge: '$st'"
fi
for f in /etc/restock /var/lib/restock /var/lib/private/restock /lib/systemd/system/restockd.service \
         /etc/systemd/system/multi-user.target.wants/restockd.service /usr/sbin/restockd \
         /usr/lib/sysusers.d/restockd.conf /usr/bin/restock-sim; do
  if [ -e "$root$f" ] || [ -L "$root$f" ]; then bad "left after purge: $f"; else ok "gone: $f"; fi
done
# (man-db's cat page cache is man-db's, made when `man` ran during the test)
left=$(in_root find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
  -o -path /var/cache/man \) -prune -o \
  -name '*restock*' -print 2>/dev/null || true)
if [ -z "$left" ]; then ok "no file named *restock* anywhere"; else bad "left: $left"; fi
if in_root getent passwd _restock >/dev/null; then
  echo "note: the _restock user and group are kept after purge (by design; see docs/operations.md)"
fi
echo "purge: $(($(date +%s) - tc)) s"

echo "install-test: $fails failed checks"
[ "$fails" -eq 0 ]
INSIDE

echo "== install and check inside a private mount namespace"
rc=0
unshare --mount --fork bash "$work/inside.sh" "$root_common" "$work/root" || rc=$?
root_verdict "$rc" "(debootstrap $((t1 - t0)) s)"
exit "$rc"
